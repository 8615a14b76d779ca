// A wire-level fake of the BigQuery v2 REST endpoints the project uses, for the REAL
// @google-cloud/bigquery client (reached through its `apiEndpoint` option). node:http, no framework.
//
// Endpoints (paths under /bigquery/v2/projects/{projectId}):
//   GET  /datasets/{d}                      datasets.get
//   POST /datasets                          datasets.insert
//   GET  /datasets/{d}/tables/{t}           tables.get
//   POST /datasets/{d}/tables               tables.insert (schema, timePartitioning, clustering kept)
//   POST /datasets/{d}/tables/{t}/insertAll tabledata.insertAll (validated, de-duplicated by insertId)
//   POST /jobs                              jobs.insert (QUERY jobs; answered DONE once the query ran)
//   GET  /jobs/{jobId}                      jobs.get
//   GET  /queries/{jobId}                   jobs.getQueryResults
//   POST /queries                           jobs.query (the client's fast path for bigquery.query())
// Anything else answers 400 "not implemented by the BigQuery fake", never a fake success.
//
// As strict as BigQuery where the runtime depends on it (options in FakeBehaviour): insertId
// de-duplication holds for a window only, mutating DML runs a few at a time per table with a bounded
// queue and conflicts when statements overlap on a partition, and DML cannot change rows still in
// the streaming buffer.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { DmlScheduler, type DmlLimits, type DmlStats, REALISTIC_DML_LIMITS } from "./dml-scheduler.ts";
import { ApiFailure, FakeEngine, type QueryResult } from "./engine.ts";
import { SqlError } from "./sql.ts";
import { type SchemaField, type TimestampFormat, toPlainValue, toWireCell, type WireQueryParameter } from "./values.ts";

export type FaultMethod = "insertAll" | "query" | "datasets" | "tables" | "jobs" | "any";

export interface FaultSpec {
  /** Which calls fail: insertAll; query = jobs.query, jobs.insert and getQueryResults; any = every call. Default any. */
  method?: FaultMethod;
  status: number;
  /** BigQuery error reason, e.g. backendError, rateLimitExceeded, invalidQuery. Defaulted from status. */
  reason?: string;
  message?: string;
  /** How many matching calls fail (default 1). */
  times?: number;
  /** Only calls whose path names this table (insertAll, tables.get); default every table. */
  table?: string;
}

/** A fault still to be served: every field defaulted, the table filter only when given. */
export type PendingFault = Required<Omit<FaultSpec, "table">> & Pick<FaultSpec, "table">;

export interface RequestLogEntry {
  method: string;
  path: string;
  /** The API method the fake recognised, e.g. "tabledata.insertAll", "jobs.query". */
  api: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number;
  at: number;
  /** When the answer was sent (Date.now()), 0 until then. */
  answeredAt: number;
}

/** BigQuery's best-effort and limited behaviour, as the fake models it. Defaults are BigQuery's. */
export interface FakeBehaviour {
  /** insertAll de-duplicates an insertId for this long after first seeing it (default 60 s). */
  insertIdWindowMs: number;
  /** Rows streamed by insertAll cannot be changed by DML for this long (default 30 min). */
  streamingBufferMs: number;
  /** Mutating DML per table: running at once, queued, duration and conflict re-runs. */
  dml: DmlLimits;
}

export const DEFAULT_BEHAVIOUR: FakeBehaviour = {
  insertIdWindowMs: 60_000,
  streamingBufferMs: 30 * 60_000,
  dml: REALISTIC_DML_LIMITS,
};

export interface BigQueryFakeOptions {
  port?: number;
  projectId?: string;
  host?: string;
  behaviour?: Partial<Omit<FakeBehaviour, "dml">> & { dml?: Partial<DmlLimits> };
}

export interface BigQueryFake {
  readonly url: string;
  readonly port: number;
  readonly projectId: string;
  /** Every request received (newest last). */
  readonly requests: RequestLogEntry[];
  injectFault(spec: FaultSpec): void;
  /** The error BigQuery returns when two DML statements on one table collide (HTTP 400). */
  injectConcurrentUpdate(opts: { datasetId: string; table: string; times?: number }): void;
  /** Faults still pending. */
  pendingFaults(): PendingFault[];
  /** Drops every pending fault (a fault window that ends before its `times` ran out). */
  clearFaults(): void;
  /** true: stop listening and drop open connections (connects are refused); false: listen again on the same port. */
  setDown(down: boolean): Promise<void>;
  /** Changes the modelled behaviour from now on (e.g. a longer DML duration for a contention test). */
  configure(behaviour: BigQueryFakeOptions["behaviour"]): void;
  readonly behaviour: FakeBehaviour;
  /** Moves the fake's clock (insertId window, streaming buffer) forward; real time is not touched. */
  advanceClock(ms: number): void;
  /** Test hook: DML statements that finished running wait to commit until the returned function is called. */
  holdDml(): () => void;
  /** Mutating DML statements running and queued on a table ("dataset.table") now. */
  dmlLoad(table: string): { running: number; queued: number };
  /** DML statements committed, re-run after a conflict, failed on a conflict or a full queue, since the start or reset. */
  dmlStats(): DmlStats;
  /** Rows of a table ("dataset.table" or "table" when one dataset has it), timestamps as ISO text. */
  rows(table: string): Record<string, unknown>[];
  /** Datasets, tables, rows, faults, DML queues and the request log cleared; behaviour and clock back to the start options. */
  reset(): void;
  stop(): Promise<void>;
}

const DEFAULT_REASONS: Record<number, string> = {
  400: "invalid",
  401: "authError",
  403: "accessDenied",
  404: "notFound",
  409: "duplicate",
  429: "rateLimitExceeded",
  500: "internalError",
  502: "backendError",
  503: "backendError",
};

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ALREADY_EXISTS",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
};

export { concurrentUpdateMessage, dmlQueueFullMessage } from "./dml-scheduler.ts";
import { concurrentUpdateMessage } from "./dml-scheduler.ts";

/** Google's JSON error envelope, as @google-cloud/common's ApiError reads it. */
function errorBody(status: number, reason: string, message: string): unknown {
  return {
    error: {
      code: status,
      message,
      errors: [{ message, domain: "global", reason }],
      status: STATUS_NAMES[status] ?? "UNKNOWN",
    },
  };
}

interface Route {
  api: string;
  fault: FaultMethod;
  handle: (ctx: RequestContext) => unknown;
}

interface RequestContext {
  projectId: string;
  params: string[];
  body: Record<string, unknown>;
  query: Record<string, string>;
}

interface StoredJob {
  resource: Record<string, unknown>;
  result?: QueryResult;
  error?: { status: number; reason: string; message: string };
}

const merged = (base: FakeBehaviour, patch: BigQueryFakeOptions["behaviour"] = {}): FakeBehaviour => ({
  ...base,
  ...patch,
  dml: { ...base.dml, ...patch.dml },
});

export async function startBigQueryFake(opts: BigQueryFakeOptions = {}): Promise<BigQueryFake> {
  const projectId = opts.projectId ?? "fake-project";
  const host = opts.host ?? "127.0.0.1";
  let behaviour = merged(DEFAULT_BEHAVIOUR, opts.behaviour);
  let clockOffsetMs = 0;
  const now = () => Date.now() + clockOffsetMs;
  const engine = new FakeEngine(projectId, {
    now,
    get insertIdWindowMs() {
      return behaviour.insertIdWindowMs;
    },
    get streamingBufferMs() {
      return behaviour.streamingBufferMs;
    },
  });
  const dml = new DmlScheduler(() => behaviour.dml);
  const jobs = new Map<string, StoredJob>();
  const requests: RequestLogEntry[] = [];
  let faults: PendingFault[] = [];
  const sockets = new Set<Socket>();

  const takeFault = (method: FaultMethod, path: string): (typeof faults)[number] | undefined => {
    const fault = faults.find((f) => (f.method === "any" || f.method === method) && (f.table === undefined || path.includes(`/tables/${f.table}/`) || path.endsWith(`/tables/${f.table}`)));
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  };

  const timestampFormat = (formatOptions: Record<string, unknown> | undefined, query: Record<string, string>): TimestampFormat => {
    const useInt64 = formatOptions?.["useInt64Timestamp"] ?? query["formatOptions.useInt64Timestamp"];
    const output = formatOptions?.["timestampOutputFormat"] ?? query["formatOptions.timestampOutputFormat"];
    return { useInt64Timestamp: useInt64 === true || useInt64 === "true" || output === "INT64", iso8601: output === "ISO8601_STRING" };
  };

  const resultPayload = (result: QueryResult, format: TimestampFormat): Record<string, unknown> => {
    if (result.statementType !== "SELECT") {
      return { numDmlAffectedRows: String(result.numDmlAffectedRows ?? 0), dmlStats: { updatedRowCount: "0" } };
    }
    const fields: SchemaField[] = result.schema?.fields ?? [];
    const rows = (result.rows ?? []).map((row) => ({ f: fields.map((field) => toWireCell(field, row[field.name] ?? null, format)) }));
    return { schema: { fields }, rows, totalRows: String(rows.length) };
  };

  /** Runs a query (DML through the per-table scheduler), turning SQL and value errors into BigQuery's 400 invalidQuery. */
  const runQuery = async (project: string, config: Record<string, unknown>): Promise<QueryResult> => {
    if (config["useLegacySql"] === true) throw new ApiFailure(400, "invalidQuery", "Legacy SQL is not supported by the BigQuery fake");
    const sql = config["query"];
    if (typeof sql !== "string" || sql.trim() === "") throw new ApiFailure(400, "invalid", "Query text is required");
    try {
      const prepared = engine.prepare(project, sql, (config["queryParameters"] as WireQueryParameter[] | undefined) ?? []);
      if (prepared.kind === "select") return prepared.run();
      return await dml.execute(prepared.tableKey, prepared.plan);
    } catch (err) {
      if (err instanceof SqlError) throw new ApiFailure(400, "invalidQuery", err.message);
      throw err;
    }
  };

  const jobResource = (project: string, jobId: string, location: string, config: Record<string, unknown>, result?: QueryResult, error?: StoredJob["error"]) => {
    const now = String(Date.now());
    return {
      kind: "bigquery#job",
      id: `${project}:${location}.${jobId}`,
      jobReference: { projectId: project, jobId, location },
      configuration: { jobType: "QUERY", query: config },
      status: error
        ? { state: "DONE", errorResult: { reason: error.reason, message: error.message }, errors: [{ reason: error.reason, message: error.message }] }
        : { state: "DONE" },
      statistics: {
        creationTime: now,
        startTime: now,
        endTime: now,
        query: result ? { statementType: result.statementType, numDmlAffectedRows: result.numDmlAffectedRows !== undefined ? String(result.numDmlAffectedRows) : undefined } : {},
      },
    };
  };

  const tableResource = (project: string, datasetId: string, tableId: string) => {
    const { meta, rows } = { meta: engine.getTable(project, datasetId, tableId).meta, rows: engine.tableRows(project, datasetId, tableId).rows };
    return {
      kind: "bigquery#table",
      id: `${project}:${datasetId}.${tableId}`,
      tableReference: { projectId: project, datasetId, tableId },
      type: "TABLE",
      schema: meta.schema,
      ...(meta.timePartitioning ? { timePartitioning: meta.timePartitioning } : {}),
      ...(meta.clustering ? { clustering: meta.clustering } : {}),
      ...(meta.description ? { description: meta.description } : {}),
      numRows: String(rows.length),
      creationTime: meta.creationTime,
    };
  };

  const datasetResource = (project: string, datasetId: string) => {
    const dataset = engine.getDataset(project, datasetId);
    return {
      kind: "bigquery#dataset",
      id: `${project}:${datasetId}`,
      datasetReference: { projectId: project, datasetId },
      location: dataset.location,
      creationTime: dataset.creationTime,
    };
  };

  const routes: [string, RegExp, Route][] = [
    ["GET", /^\/datasets\/([^/]+)$/, { api: "datasets.get", fault: "datasets", handle: (c) => datasetResource(c.projectId, c.params[0] as string) }],
    [
      "POST",
      /^\/datasets$/,
      {
        api: "datasets.insert",
        fault: "datasets",
        handle: (c) => {
          const ref = c.body["datasetReference"] as { datasetId?: string } | undefined;
          const datasetId = ref?.datasetId ?? "";
          engine.createDataset(c.projectId, datasetId, typeof c.body["location"] === "string" ? c.body["location"] : "US");
          return datasetResource(c.projectId, datasetId);
        },
      },
    ],
    [
      "GET",
      /^\/datasets\/([^/]+)\/tables\/([^/]+)$/,
      { api: "tables.get", fault: "tables", handle: (c) => tableResource(c.projectId, c.params[0] as string, c.params[1] as string) },
    ],
    [
      "POST",
      /^\/datasets\/([^/]+)\/tables$/,
      {
        api: "tables.insert",
        fault: "tables",
        handle: (c) => {
          const datasetId = c.params[0] as string;
          const ref = c.body["tableReference"] as { tableId?: string } | undefined;
          const schema = c.body["schema"] as { fields?: SchemaField[] } | undefined;
          if (!schema?.fields?.length) throw new ApiFailure(400, "invalid", "The BigQuery fake needs a schema to create a table");
          const tableId = ref?.tableId ?? "";
          engine.createTable(c.projectId, datasetId, tableId, {
            schema: { fields: schema.fields },
            ...(c.body["timePartitioning"] ? { timePartitioning: c.body["timePartitioning"] as Record<string, unknown> } : {}),
            ...(c.body["clustering"] ? { clustering: c.body["clustering"] as { fields: string[] } } : {}),
            ...(typeof c.body["description"] === "string" ? { description: c.body["description"] } : {}),
          });
          return tableResource(c.projectId, datasetId, tableId);
        },
      },
    ],
    [
      "POST",
      /^\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/,
      {
        api: "tabledata.insertAll",
        fault: "insertAll",
        handle: (c) => {
          const insertErrors = engine.insertAll(c.projectId, c.params[0] as string, c.params[1] as string, c.body as never);
          return insertErrors.length > 0 ? { kind: "bigquery#tableDataInsertAllResponse", insertErrors } : { kind: "bigquery#tableDataInsertAllResponse" };
        },
      },
    ],
    [
      "POST",
      /^\/jobs$/,
      {
        api: "jobs.insert",
        fault: "query",
        handle: async (c) => {
          const configuration = (c.body["configuration"] ?? {}) as Record<string, unknown>;
          const config = configuration["query"] as Record<string, unknown> | undefined;
          if (!config) throw new ApiFailure(400, "invalid", "The BigQuery fake only runs QUERY jobs");
          const ref = (c.body["jobReference"] ?? {}) as { jobId?: string; location?: string };
          const jobId = ref.jobId ?? randomUUID();
          const location = ref.location ?? "US";
          if (jobs.has(jobId)) throw new ApiFailure(409, "duplicate", `Already Exists: Job ${c.projectId}:${location}.${jobId}`);
          // A query job that fails is still created: DONE with errorResult (the client turns it into an error).
          let result: QueryResult | undefined;
          let error: StoredJob["error"];
          try {
            result = await runQuery(c.projectId, config);
          } catch (err) {
            if (!(err instanceof ApiFailure)) throw err;
            error = { status: err.status, reason: err.reason, message: err.message };
          }
          const resource = jobResource(c.projectId, jobId, location, config, result, error);
          jobs.set(jobId, { resource, ...(result ? { result } : {}), ...(error ? { error } : {}) });
          return resource;
        },
      },
    ],
    [
      "GET",
      /^\/jobs\/([^/]+)$/,
      {
        api: "jobs.get",
        fault: "jobs",
        handle: (c) => {
          const job = jobs.get(c.params[0] as string);
          if (!job) throw new ApiFailure(404, "notFound", `Not found: Job ${c.projectId}:${c.params[0] as string}`);
          return job.resource;
        },
      },
    ],
    [
      "GET",
      /^\/queries\/([^/]+)$/,
      {
        api: "jobs.getQueryResults",
        fault: "query",
        handle: (c) => {
          const job = jobs.get(c.params[0] as string);
          if (!job) throw new ApiFailure(404, "notFound", `Not found: Job ${c.projectId}:${c.params[0] as string}`);
          if (job.error) throw new ApiFailure(job.error.status, job.error.reason, job.error.message);
          const result = job.result as QueryResult;
          return {
            kind: "bigquery#getQueryResultsResponse",
            jobReference: (job.resource as { jobReference: unknown }).jobReference,
            jobComplete: true,
            cacheHit: false,
            totalBytesProcessed: "0",
            ...resultPayload(result, timestampFormat(undefined, c.query)),
          };
        },
      },
    ],
    [
      "POST",
      /^\/queries$/,
      {
        api: "jobs.query",
        fault: "query",
        handle: async (c) => {
          const result = await runQuery(c.projectId, c.body);
          const jobId = `job_${randomUUID()}`;
          const location = typeof c.body["location"] === "string" ? c.body["location"] : "US";
          const resource = jobResource(c.projectId, jobId, location, c.body, result);
          jobs.set(jobId, { resource, result });
          return {
            kind: "bigquery#queryResponse",
            jobReference: resource.jobReference,
            jobComplete: true,
            cacheHit: false,
            totalBytesProcessed: "0",
            ...resultPayload(result, timestampFormat(c.body["formatOptions"] as Record<string, unknown> | undefined, c.query)),
          };
        },
      },
    ],
  ];

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    const entry: RequestLogEntry = { method, path: url.pathname, api: "unknown", query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body: undefined, status: 0, at: Date.now(), answeredAt: 0 };
    requests.push(entry);
    const respond = (status: number, body: unknown) => {
      entry.status = status;
      entry.answeredAt = Date.now();
      send(res, status, body);
    };
    const text = await readBody(req);
    let body: Record<string, unknown> = {};
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // A body we cannot read is answered, not ignored: 400 like the API.
        respond(400, errorBody(400, "parseError", "Parse Error: request body is not JSON"));
        return;
      }
    }
    entry.body = body;
    const m = /^\/bigquery\/v2\/projects\/([^/]+)(\/.*)$/.exec(url.pathname);
    const found = m && routes.find(([verb, pattern]) => verb === method && pattern.test(m[2] as string));
    if (!m || !found) {
      respond(400, errorBody(400, "invalid", `Not implemented by the BigQuery fake: ${method} ${url.pathname}`));
      return;
    }
    const [, pattern, route] = found;
    entry.api = route.api;
    const fault = takeFault(route.fault, m[2] as string);
    if (fault) {
      respond(fault.status, errorBody(fault.status, fault.reason, fault.message));
      return;
    }
    const params = (pattern.exec(m[2] as string) ?? []).slice(1).map(decodeURIComponent);
    try {
      respond(200, await route.handle({ projectId: decodeURIComponent(m[1] as string), params, body, query: entry.query }));
    } catch (err) {
      if (err instanceof ApiFailure) {
        respond(err.status, errorBody(err.status, err.reason, err.message));
        return;
      }
      // A bug in the fake must be visible: 500 with the message (and the test that hit it fails).
      respond(500, errorBody(500, "internalError", `BigQuery fake crashed: ${(err as Error).stack ?? String(err)}`));
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  // The clients keep their sockets alive. Node closes an idle one after 5 s by default, and a request
  // sent on a socket as the server closes it fails with ECONNRESET: a race of this server, not of
  // BigQuery's front end, which keeps idle connections far longer. Stopping the fake destroys them.
  server.keepAliveTimeout = 10 * 60_000;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        const address = server.address();
        resolve(typeof address === "object" && address ? address.port : port);
      });
    });

  const close = () =>
    new Promise<void>((resolve, reject) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close((err) => (err ? reject(err) : resolve()));
      // Keep-alive connections would otherwise keep serving: a "down" service answers nothing.
      for (const socket of sockets) socket.destroy();
    });

  const port = await listen(opts.port ?? 0);
  const url = `http://${host}:${port}`;

  return {
    url,
    port,
    projectId,
    requests,
    injectFault(spec) {
      const method = spec.method ?? "any";
      const reason = spec.reason ?? DEFAULT_REASONS[spec.status] ?? "unknown";
      faults.push({ method, status: spec.status, reason, message: spec.message ?? `Injected fault: ${reason}`, times: spec.times ?? 1, ...(spec.table === undefined ? {} : { table: spec.table }) });
    },
    injectConcurrentUpdate({ datasetId, table, times }) {
      faults.push({
        method: "query",
        status: 400,
        reason: "invalidQuery",
        message: concurrentUpdateMessage(projectId, datasetId, table),
        times: times ?? 1,
      });
    },
    pendingFaults: () => faults.map((f) => ({ ...f })),
    clearFaults() {
      faults = [];
    },
    configure(patch) {
      behaviour = merged(behaviour, patch);
    },
    get behaviour() {
      return behaviour;
    },
    advanceClock(ms) {
      clockOffsetMs += ms;
    },
    holdDml: () => dml.hold(),
    dmlLoad(table) {
      const [datasetId, tableId] = table.split(".");
      return dml.load(`${projectId}:${datasetId ?? ""}.${tableId ?? ""}`);
    },
    dmlStats: () => dml.stats(),
    async setDown(down) {
      if (down) await close();
      else if (!server.listening) await listen(port);
    },
    rows(table) {
      const [datasetPart, tablePart] = table.includes(".") ? table.split(".") : [undefined, table];
      const matches = engine.listTables().filter((t) => t.tableId === tablePart && (datasetPart === undefined || t.datasetId === datasetPart));
      if (matches.length !== 1) {
        throw new Error(`fake.rows(${table}): ${matches.length === 0 ? "no such table" : "ambiguous, use dataset.table"}`);
      }
      const { projectId: p, datasetId, tableId } = matches[0] as { projectId: string; datasetId: string; tableId: string };
      const { fields, rows } = engine.tableRows(p, datasetId, tableId);
      return rows.map((row) => Object.fromEntries(fields.map((f) => [f.name, toPlainValue(f, row[f.name] ?? null)])));
    },
    reset() {
      engine.reset();
      dml.reset();
      behaviour = merged(DEFAULT_BEHAVIOUR, opts.behaviour);
      clockOffsetMs = 0;
      jobs.clear();
      faults = [];
      requests.length = 0;
    },
    stop: close,
  };
}

// The in-memory state of the BigQuery fake (datasets, tables, rows) and execution of the SQL
// subset from sql.ts. No HTTP here: server.ts maps requests to these calls and errors to
// BigQuery's error responses.
import { type Expr, type MergeIR, parseStatement, type SelectIR, SqlError, type TableName } from "./sql.ts";
import {
  canonicalType,
  convertFromJson,
  convertParameter,
  fitsField,
  type SchemaField,
  type Scalar,
  sqlTypeName,
  type StoredRow,
  type StoredValue,
  type TypedValue,
  ValueError,
  type WireQueryParameter,
} from "./values.ts";

/** An API-level failure: HTTP status plus BigQuery's reason. */
export class ApiFailure extends Error {
  override readonly name = "ApiFailure";
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TableMeta {
  schema: { fields: SchemaField[] };
  timePartitioning?: Record<string, unknown>;
  clustering?: { fields: string[] };
  description?: string;
  creationTime: string;
}

interface TableState {
  meta: TableMeta;
  rows: StoredRow[];
  /** insertId -> when it was first accepted (fake clock, ms): de-duplication holds only for a window. */
  insertIds: Map<string, number>;
  /** Rows written by insertAll -> when (fake clock, ms): in the streaming buffer for a while. */
  streamedAt: WeakMap<StoredRow, number>;
}

/** The clock and windows of BigQuery's best-effort behaviour the engine models. */
export interface EngineTiming {
  /** The fake's clock, epoch ms. */
  now(): number;
  /** insertAll de-duplicates an insertId only within this window after it was first seen. */
  insertIdWindowMs: number;
  /** Rows streamed by insertAll cannot be changed by DML for this long. */
  streamingBufferMs: number;
}

/** A mutating DML statement evaluated against the current rows, not yet applied. */
export interface DmlPlan {
  result: QueryResult;
  /** project:dataset.table it writes. */
  tableKey: string;
  /** Partitions (values of the partitioning column, or "" when unpartitioned) it changes. */
  partitions: Set<string>;
  apply(): void;
}

/** A parsed query, ready to run: a SELECT at once, a DML statement through the fake's DML scheduler. */
export type PreparedQuery =
  | { kind: "select"; run(): QueryResult }
  | { kind: "dml"; tableKey: string; plan(): DmlPlan };

interface DatasetState {
  location: string;
  creationTime: string;
  tables: Map<string, TableState>;
}

export interface InsertError {
  index: number;
  errors: { reason: string; location: string; message: string; debugInfo?: string }[];
}

export interface QueryResult {
  statementType: "SELECT" | "MERGE";
  schema?: { fields: SchemaField[] };
  rows?: StoredRow[];
  numDmlAffectedRows?: number;
  /** project:dataset.table the statement read or wrote. */
  tableId: string;
}

type Env = Map<string, { fields: SchemaField[]; row: StoredRow }>;

interface EvalContext {
  env: Env;
  params: Map<string, TypedValue>;
}

export class FakeEngine {
  private readonly datasets = new Map<string, DatasetState>(); // key "project:dataset"

  constructor(
    readonly defaultProjectId: string,
    private readonly timing: EngineTiming = { now: () => Date.now(), insertIdWindowMs: 60_000, streamingBufferMs: 30 * 60_000 },
  ) {}

  reset(): void {
    this.datasets.clear();
  }

  // ---- datasets and tables ----

  getDataset(projectId: string, datasetId: string): DatasetState {
    const dataset = this.datasets.get(`${projectId}:${datasetId}`);
    if (!dataset) throw new ApiFailure(404, "notFound", `Not found: Dataset ${projectId}:${datasetId}`);
    return dataset;
  }

  createDataset(projectId: string, datasetId: string, location: string): DatasetState {
    if (!/^[A-Za-z0-9_]{1,1024}$/.test(datasetId)) throw new ApiFailure(400, "invalid", `Invalid dataset ID "${datasetId}"`);
    const key = `${projectId}:${datasetId}`;
    if (this.datasets.has(key)) throw new ApiFailure(409, "duplicate", `Already Exists: Dataset ${key}`);
    const dataset: DatasetState = { location, creationTime: String(Date.now()), tables: new Map() };
    this.datasets.set(key, dataset);
    return dataset;
  }

  getTable(projectId: string, datasetId: string, tableId: string): TableState {
    const table = this.getDataset(projectId, datasetId).tables.get(tableId);
    if (!table) throw new ApiFailure(404, "notFound", `Not found: Table ${projectId}:${datasetId}.${tableId}`);
    return table;
  }

  createTable(projectId: string, datasetId: string, tableId: string, meta: Omit<TableMeta, "creationTime">): TableMeta {
    const dataset = this.getDataset(projectId, datasetId);
    if (!/^[A-Za-z0-9_]{1,1024}$/.test(tableId)) throw new ApiFailure(400, "invalid", `Invalid table ID "${tableId}"`);
    if (dataset.tables.has(tableId)) {
      throw new ApiFailure(409, "duplicate", `Already Exists: Table ${projectId}:${datasetId}.${tableId}`);
    }
    const fields = meta.schema.fields;
    for (const field of fields) {
      if (!canonicalType(field.type)) {
        throw new ApiFailure(400, "invalid", `Unsupported field type ${field.type} (field ${field.name}) in the BigQuery fake`);
      }
    }
    const names = fields.map((f) => f.name.toLowerCase());
    if (new Set(names).size !== names.length) throw new ApiFailure(400, "invalid", `Duplicate field names in the schema`);
    const partitionField = meta.timePartitioning?.["field"];
    if (typeof partitionField === "string") {
      const field = fields.find((f) => f.name === partitionField);
      if (!field || !["DATE", "TIMESTAMP"].includes(canonicalType(field.type) ?? "")) {
        throw new ApiFailure(400, "invalid", `The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME: ${partitionField}`);
      }
    }
    for (const clusterField of meta.clustering?.fields ?? []) {
      if (!fields.some((f) => f.name === clusterField)) {
        throw new ApiFailure(400, "invalid", `The field specified for clustering cannot be found in the schema: ${clusterField}`);
      }
    }
    const full: TableMeta = { ...meta, creationTime: String(Date.now()) };
    dataset.tables.set(tableId, { meta: full, rows: [], insertIds: new Map(), streamedAt: new WeakMap() });
    return full;
  }

  // ---- tabledata.insertAll ----

  /**
   * BigQuery's semantics: with skipInvalidRows false, one invalid row fails the whole request;
   * the invalid rows report "invalid", the others "stopped". Accepted rows whose insertId was
   * first seen less than insertIdWindowMs ago are dropped; BigQuery's de-duplication is best
   * effort for about a minute, so a retry after the window is a second row.
   */
  insertAll(
    projectId: string,
    datasetId: string,
    tableId: string,
    body: { rows?: { insertId?: string; json?: Record<string, unknown> }[]; skipInvalidRows?: boolean; ignoreUnknownValues?: boolean },
  ): InsertError[] {
    const table = this.getTable(projectId, datasetId, tableId);
    const rows = body.rows ?? [];
    if (rows.length === 0) throw new ApiFailure(400, "invalid", "No rows present in the request.");
    const fields = table.meta.schema.fields;
    const converted: (StoredRow | undefined)[] = [];
    const errors: InsertError[] = [];
    rows.forEach((entry, index) => {
      const json = entry.json ?? {};
      const rowErrors: InsertError["errors"] = [];
      if (!body.ignoreUnknownValues) {
        for (const key of Object.keys(json)) {
          if (!fields.some((f) => f.name === key)) {
            rowErrors.push({ reason: "invalid", location: key, message: `no such field: ${key}.` });
          }
        }
      }
      const row: StoredRow = {};
      for (const field of fields) {
        try {
          row[field.name] = convertFromJson(field, json[field.name]);
        } catch (err) {
          if (!(err instanceof ValueError)) throw err;
          rowErrors.push({ reason: "invalid", location: field.name, message: err.message });
        }
      }
      if (rowErrors.length > 0) errors.push({ index, errors: rowErrors });
      converted.push(rowErrors.length > 0 ? undefined : row);
    });
    if (errors.length > 0 && !body.skipInvalidRows) {
      const stopped = rows
        .map((_, index) => index)
        .filter((index) => converted[index] !== undefined)
        .map((index) => ({ index, errors: [{ reason: "stopped", location: "", message: "" }] }));
      return [...errors, ...stopped].sort((a, b) => a.index - b.index);
    }
    const now = this.timing.now();
    rows.forEach((entry, index) => {
      const row = converted[index];
      if (!row) return;
      if (entry.insertId !== undefined && entry.insertId !== "") {
        const seenAt = table.insertIds.get(entry.insertId);
        if (seenAt !== undefined && now - seenAt < this.timing.insertIdWindowMs) return;
        table.insertIds.set(entry.insertId, now);
      }
      table.streamedAt.set(row, now);
      table.rows.push(row);
    });
    return errors;
  }

  // ---- queries ----

  /** Runs a query at once (a DML statement is applied immediately, outside any DML scheduling). */
  query(projectId: string, sql: string, wireParams: WireQueryParameter[] = []): QueryResult {
    const prepared = this.prepare(projectId, sql, wireParams);
    if (prepared.kind === "select") return prepared.run();
    const plan = prepared.plan();
    plan.apply();
    return plan.result;
  }

  /** Parses and checks a query; a DML statement is evaluated only when its plan is asked for. */
  prepare(projectId: string, sql: string, wireParams: WireQueryParameter[] = []): PreparedQuery {
    const statement = parseStatement(sql);
    const params = new Map<string, TypedValue>();
    for (const param of wireParams) {
      if (!param.name) throw new SqlError("Positional query parameters are not supported by the BigQuery fake");
      try {
        params.set(param.name, convertParameter(param));
      } catch (err) {
        if (err instanceof ValueError) throw new SqlError(err.message);
        throw err;
      }
    }
    // BigQuery resolves parameters when it compiles the statement, not per row.
    for (const name of referencedParams(statement)) {
      if (!params.has(name)) throw new SqlError(`Query parameter '${name}' not found`);
    }
    if (statement.kind === "select") return { kind: "select", run: () => this.runSelect(projectId, statement, params) };
    const { id } = this.resolveTable(projectId, statement.target);
    return { kind: "dml", tableKey: id, plan: () => this.planMerge(projectId, statement, params) };
  }

  private resolveTable(projectId: string, name: TableName): { state: TableState; id: string } {
    const project = name.projectId ?? projectId;
    try {
      return { state: this.getTable(project, name.datasetId, name.tableId), id: `${project}:${name.datasetId}.${name.tableId}` };
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 404) {
        throw new ApiFailure(404, "notFound", `Not found: ${err.message.replace(/^Not found: /, "")} was not found in location US`);
      }
      throw err;
    }
  }

  private runSelect(projectId: string, select: SelectIR, params: Map<string, TypedValue>): QueryResult {
    const { rows, fields } = this.selectRows(projectId, select, params);
    const tableId = select.from ? this.resolveTable(projectId, select.from.table).id : "";
    return { statementType: "SELECT", schema: { fields }, rows, tableId };
  }

  private selectRows(
    projectId: string,
    select: SelectIR,
    params: Map<string, TypedValue>,
  ): { rows: StoredRow[]; fields: SchemaField[] } {
    let sourceFields: SchemaField[] = [];
    let candidates: StoredRow[] = [{}];
    let alias = "";
    if (select.from) {
      const { state } = this.resolveTable(projectId, select.from.table);
      sourceFields = state.meta.schema.fields;
      candidates = state.rows;
      alias = select.from.alias ?? select.from.table.tableId;
    }
    const envOf = (row: StoredRow): Env => new Map([[alias, { fields: sourceFields, row }]]);
    let matched = candidates.filter((row) => select.where === null || isTrue(evaluate(select.where, { env: envOf(row), params })));
    if (select.orderBy.length > 0) {
      const keyed = matched.map((row) => ({ row, keys: select.orderBy.map((o) => evaluate(o.expr, { env: envOf(row), params })) }));
      keyed.sort((a, b) => {
        for (let i = 0; i < select.orderBy.length; i++) {
          const c = compareForOrder(a.keys[i] ?? null, b.keys[i] ?? null);
          if (c !== 0) return select.orderBy[i]?.desc ? -c : c;
        }
        return 0;
      });
      matched = keyed.map((k) => k.row);
    }
    if (select.limit !== null) matched = matched.slice(0, select.limit);

    if (select.columns === "*") {
      if (!select.from) throw new SqlError("SELECT * must have a FROM clause");
      return { rows: matched.map((row) => ({ ...row })), fields: sourceFields.map((f) => ({ ...f })) };
    }
    const columns = select.columns;
    const fields = columns.map(({ expr, name }) => ({ ...fieldOfExpr(expr, sourceFields, params), name }));
    const rows = matched.map((row) => {
      const out: StoredRow = {};
      for (const { expr, name } of columns) out[name] = evaluate(expr, { env: envOf(row), params });
      return out;
    });
    return { rows, fields };
  }

  private planMerge(projectId: string, merge: MergeIR, params: Map<string, TypedValue>): DmlPlan {
    const { state: target, id } = this.resolveTable(projectId, merge.target);
    const targetFields = target.meta.schema.fields;
    const source = this.selectRows(projectId, merge.source, params);
    const updates = new Map<StoredRow, StoredRow>();
    const inserts: StoredRow[] = [];
    for (const sourceRow of source.rows) {
      const baseEnv = (targetRow: StoredRow | null): Env => {
        const env: Env = new Map([[merge.sourceAlias, { fields: source.fields, row: sourceRow }]]);
        if (targetRow) env.set(merge.targetAlias, { fields: targetFields, row: targetRow });
        return env;
      };
      const matches = target.rows.filter((row) => isTrue(evaluate(merge.on, { env: baseEnv(row), params })));
      if (matches.length > 0) {
        for (const targetRow of matches) {
          if (updates.has(targetRow)) {
            throw new SqlError("UPDATE/MERGE must match at most one source row for each target row");
          }
          const ctx = { env: baseEnv(targetRow), params };
          const clause = merge.clauses.find((c) => c.matched && (c.cond === null || isTrue(evaluate(c.cond, ctx))));
          if (!clause || !clause.matched) continue;
          const updated: StoredRow = { ...targetRow };
          for (const { column, expr } of clause.set) {
            updated[fieldNamed(targetFields, column, id).name] = assignable(targetFields, column, evaluate(expr, ctx), id);
          }
          updates.set(targetRow, updated);
        }
      } else {
        const ctx = { env: baseEnv(null), params };
        const clause = merge.clauses.find((c) => !c.matched && (c.cond === null || isTrue(evaluate(c.cond, ctx))));
        if (!clause || clause.matched) continue;
        const row: StoredRow = {};
        for (const field of targetFields) row[field.name] = (field.mode ?? "").toUpperCase() === "REPEATED" ? [] : null;
        clause.columns.forEach((column, i) => {
          const expr = clause.values[i] as Expr;
          row[fieldNamed(targetFields, column, id).name] = assignable(targetFields, column, evaluate(expr, ctx), id);
        });
        for (const field of targetFields) {
          if (!fitsField(field, row[field.name] ?? null)) {
            throw new SqlError(`Required field ${field.name} cannot be NULL (table ${id})`);
          }
        }
        inserts.push(row);
      }
    }
    // BigQuery refuses DML that would change rows still in the streaming buffer (written by insertAll).
    const now = this.timing.now();
    for (const row of updates.keys()) {
      const streamedAt = target.streamedAt.get(row);
      if (streamedAt !== undefined && now - streamedAt < this.timing.streamingBufferMs) {
        throw new SqlError(`UPDATE or DELETE statement over table ${id.replace(":", ".")} would affect rows in the streaming buffer, which is not supported`);
      }
    }
    const partitionField = target.meta.timePartitioning?.["field"];
    const partitionOf = (row: StoredRow): string => {
      if (typeof partitionField !== "string") return "";
      const value = row[partitionField] ?? null;
      // DATE values are the day itself; TIMESTAMP values (microseconds) fall into their UTC day.
      return typeof value === "number" ? String(Math.floor(value / 86_400_000_000)) : String(value);
    };
    const partitions = new Set([...updates.keys(), ...inserts].map(partitionOf));
    return {
      result: { statementType: "MERGE", numDmlAffectedRows: updates.size + inserts.length, tableId: id },
      tableKey: id,
      partitions,
      // Applied only after the whole statement evaluated: a DML statement is atomic.
      apply: () => {
        target.rows = target.rows.map((row) => updates.get(row) ?? row);
        target.rows.push(...inserts);
      },
    };
  }

  // ---- inspection ----

  tableRows(projectId: string, datasetId: string, tableId: string): { fields: SchemaField[]; rows: StoredRow[] } {
    const table = this.getTable(projectId, datasetId, tableId);
    return { fields: table.meta.schema.fields, rows: table.rows };
  }

  listTables(): { projectId: string; datasetId: string; tableId: string }[] {
    const out: { projectId: string; datasetId: string; tableId: string }[] = [];
    for (const [key, dataset] of this.datasets) {
      const [projectId = "", datasetId = ""] = key.split(":");
      for (const tableId of dataset.tables.keys()) out.push({ projectId, datasetId, tableId });
    }
    return out;
  }
}

// ---- expression evaluation ----

function referencedParams(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) referencedParams(item, found);
  } else if (typeof node === "object" && node !== null) {
    const record = node as Record<string, unknown>;
    if (record["k"] === "param" && typeof record["name"] === "string") found.add(record["name"]);
    for (const value of Object.values(record)) referencedParams(value, found);
  }
  return found;
}

function fieldNamed(fields: SchemaField[], column: string, tableId: string): SchemaField {
  const field = fields.find((f) => f.name.toLowerCase() === column.toLowerCase());
  if (!field) throw new SqlError(`Name ${column} not found inside ${tableId}`);
  return field;
}

function assignable(fields: SchemaField[], column: string, value: StoredValue, tableId: string): StoredValue {
  const field = fieldNamed(fields, column, tableId);
  if (!fitsField(field, value)) {
    const type = canonicalType(field.type);
    throw new SqlError(
      `Value ${JSON.stringify(value)} cannot be assigned to ${field.name}, which has type ${type ? sqlTypeName(type) : field.type}${(field.mode ?? "").toUpperCase() === "REPEATED" ? " (ARRAY)" : ""}`,
    );
  }
  return value;
}

function fieldOfExpr(expr: Expr, fields: SchemaField[], params: Map<string, TypedValue>): SchemaField {
  if (expr.k === "col") {
    const field = fields.find((f) => f.name.toLowerCase() === expr.name.toLowerCase());
    if (!field) throw new SqlError(`Unrecognized name: ${expr.name}`);
    return { ...field };
  }
  if (expr.k === "param") {
    const param = params.get(expr.name);
    if (!param) throw new SqlError(`Query parameter '${expr.name}' not found`);
    return { name: expr.name, type: param.type, mode: param.repeated ? "REPEATED" : "NULLABLE" };
  }
  if (expr.k === "lit") {
    const v = expr.value;
    const type = typeof v === "number" ? (Number.isInteger(v) ? "INTEGER" : "FLOAT") : typeof v === "boolean" ? "BOOLEAN" : "STRING";
    return { name: "", type, mode: "NULLABLE" };
  }
  return { name: "", type: "BOOLEAN", mode: "NULLABLE" };
}

function lookupColumn(expr: Extract<Expr, { k: "col" }>, env: Env): StoredValue {
  if (expr.table !== null) {
    const scope = env.get(expr.table);
    if (!scope) throw new SqlError(`Unrecognized name: ${expr.table}`);
    const field = scope.fields.find((f) => f.name.toLowerCase() === expr.name.toLowerCase());
    if (!field) throw new SqlError(`Name ${expr.name} not found inside ${expr.table}`);
    return scope.row[field.name] ?? null;
  }
  const hits = [...env.values()].filter((scope) => scope.fields.some((f) => f.name.toLowerCase() === expr.name.toLowerCase()));
  if (hits.length === 0) throw new SqlError(`Unrecognized name: ${expr.name}`);
  if (hits.length > 1) throw new SqlError(`Column name ${expr.name} is ambiguous`);
  const scope = hits[0] as { fields: SchemaField[]; row: StoredRow };
  const field = scope.fields.find((f) => f.name.toLowerCase() === expr.name.toLowerCase()) as SchemaField;
  return scope.row[field.name] ?? null;
}

function isTrue(value: StoredValue): boolean {
  return value === true;
}

function scalar(value: StoredValue, what: string): Scalar {
  if (Array.isArray(value)) throw new SqlError(`No matching signature for ${what} with an ARRAY argument`);
  return value;
}

/** Three-valued comparison: null when either side is NULL. */
function compare(op: string, a: Scalar, b: Scalar): boolean | null {
  if (a === null || b === null) return null;
  if (typeof a !== typeof b) {
    throw new SqlError(`No matching signature for operator ${op} for argument types ${typeof a} and ${typeof b}`);
  }
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    default:
      return a >= b;
  }
}

/** ORDER BY: NULLs first (BigQuery's ASC default). */
function compareForOrder(a: StoredValue, b: StoredValue): number {
  const x = scalar(a, "ORDER BY");
  const y = scalar(b, "ORDER BY");
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  return x < y ? -1 : 1;
}

function and(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function or(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

function not(a: boolean | null): boolean | null {
  return a === null ? null : !a;
}

function asBool(value: StoredValue, what: string): boolean | null {
  if (value === null || typeof value === "boolean") return value;
  throw new SqlError(`${what} must be BOOL`);
}

export function evaluate(expr: Expr, ctx: EvalContext): StoredValue {
  switch (expr.k) {
    case "col":
      return lookupColumn(expr, ctx.env);
    case "param": {
      const param = ctx.params.get(expr.name);
      if (!param) throw new SqlError(`Query parameter '${expr.name}' not found`);
      return param.value;
    }
    case "lit":
      return expr.value;
    case "cmp":
      return compare(expr.op, scalar(evaluate(expr.left, ctx), expr.op), scalar(evaluate(expr.right, ctx), expr.op));
    case "and":
      return and(asBool(evaluate(expr.left, ctx), "AND operand"), asBool(evaluate(expr.right, ctx), "AND operand"));
    case "or":
      return or(asBool(evaluate(expr.left, ctx), "OR operand"), asBool(evaluate(expr.right, ctx), "OR operand"));
    case "not":
      return not(asBool(evaluate(expr.expr, ctx), "NOT operand"));
    case "isnull": {
      const value = evaluate(expr.expr, ctx);
      const isNull = value === null;
      return expr.negate ? !isNull : isNull;
    }
    case "between": {
      const v = scalar(evaluate(expr.expr, ctx), "BETWEEN");
      const result = and(
        compare(">=", v, scalar(evaluate(expr.low, ctx), "BETWEEN")),
        compare("<=", v, scalar(evaluate(expr.high, ctx), "BETWEEN")),
      );
      return expr.negate ? not(result) : result;
    }
    case "in":
    case "inArray": {
      const v = scalar(evaluate(expr.expr, ctx), "IN");
      let candidates: Scalar[];
      if (expr.k === "in") {
        candidates = expr.list.map((item) => scalar(evaluate(item, ctx), "IN"));
      } else {
        const array = evaluate(expr.array, ctx);
        if (!Array.isArray(array)) throw new SqlError("IN UNNEST() needs an ARRAY");
        candidates = array;
      }
      let result: boolean | null = false;
      for (const candidate of candidates) result = or(result, compare("=", v, candidate));
      return expr.negate ? not(result) : result;
    }
  }
}

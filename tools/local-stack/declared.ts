// What the Pulumi program declares, read out of the offline evaluation (tools/plan/evaluate.ts) into
// what the local stack provisions: topics, subscriptions (push target resolved to a declared
// function), functions (archive, environment, secrets), the BigQuery dataset and tables, and
// scheduler jobs. Pure. Wiring mistakes that would fail in the cloud fail here, all listed at once.
import type { DeclaredResource } from "../plan/mocks.ts";
import { RecordingMocks } from "../plan/mocks.ts";
import { RESOURCE_TYPES as TYPES } from "../../functions/core/resource-types.ts";

export { TYPES };

export interface LocalTopic {
  resource: string;
  name: string;
}

export interface LocalSubscription {
  resource: string;
  name: string;
  topic: string;
  ackDeadlineSeconds: number | undefined;
  messageRetentionSeconds: number | undefined;
  retainAckedMessages: boolean | undefined;
  /** Push subscriptions: the declared function (by deployed name) the endpoint is the URL of. */
  pushTo: string | undefined;
  retry: { minimumBackoffSeconds: number; maximumBackoffSeconds: number } | undefined;
  deadLetter: { topic: string; maxDeliveryAttempts: number } | undefined;
}

export interface LocalFunction {
  resource: string;
  /** Deployed name (Cloud Run service). */
  name: string;
  entryPoint: string;
  runtime: string;
  /** The archive the program uploads, relative to the project root. */
  archive: string;
  codeHash: string | undefined;
  environment: Record<string, string>;
  /** Environment variables the platform fills from Secret Manager: key -> secret id. */
  secretEnvironment: Record<string, string>;
  timeoutSeconds: number | undefined;
  /** Requests one instance serves at once (maxInstanceRequestConcurrency; the platform's default, 1, when unset). */
  concurrency: number;
  /** The URL the program wires to (the mock runtime's value). */
  declaredUrl: string;
}

export interface LocalTable {
  resource: string;
  datasetId: string;
  tableId: string;
  description: string | undefined;
  /** The schema JSON string exactly as declared. */
  schema: string;
  timePartitioning: { type: string; field?: string; expirationMs?: number } | undefined;
  clusterings: string[];
}

export interface LocalSchedule {
  resource: string;
  name: string;
  /** Deployed name of the function the job calls. */
  functionName: string;
  schedule: string;
  httpMethod: string;
}

export interface LocalPlan {
  stack: string;
  project: string;
  region: string;
  topics: LocalTopic[];
  subscriptions: LocalSubscription[];
  functions: LocalFunction[];
  datasets: { resource: string; datasetId: string; location: string | undefined }[];
  tables: LocalTable[];
  schedules: LocalSchedule[];
}

export class WiringError extends Error {
  constructor(readonly problems: string[]) {
    super(`the program's wiring is broken (${problems.length} problem(s)):\n  - ${problems.join("\n  - ")}`);
    this.name = "WiringError";
  }
}

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined);

/** "600s" -> 600; undefined when absent. Throws on a shape Pub/Sub would reject. */
export function durationSeconds(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const m = typeof value === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(value) : null;
  if (m === null) throw new WiringError([`${what}: ${JSON.stringify(value)} is not a duration like "600s"`]);
  return Number(m[1]);
}

/** "projects/P/topics/T" -> { project: P, name: T }. */
export function parseTopicId(id: string): { project: string; name: string } | undefined {
  const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(id);
  return m === null ? undefined : { project: m[1]!, name: m[2]! };
}

/** The URL the offline evaluation gave a function (the same mock that answered the program). */
function mockUrlOf(r: DeclaredResource, project: string, region: string): string {
  const state = new RecordingMocks(project, region).newResource({ type: r.type, name: r.name, inputs: r.inputs, custom: true }).state;
  const url = str(obj(state.serviceConfig).uri);
  if (url === undefined) throw new Error(`the plan mocks gave ${r.name} no serviceConfig.uri`);
  return url;
}

export function localPlanOf(stack: string, project: string, region: string, resources: readonly DeclaredResource[]): LocalPlan {
  const problems: string[] = [];
  const ofType = (type: string) => resources.filter((r) => r.type === type);

  const topics: LocalTopic[] = ofType(TYPES.topic).map((r) => ({ resource: r.name, name: str(r.inputs.name) ?? r.name }));
  const topicNames = new Set(topics.map((t) => t.name));
  /** `bare`: a plain topic name is the same project's topic (a subscription's `topic` may be given so; a dead-letter topic may not). */
  const topicRef = (ref: unknown, what: string, bare = false): string | undefined => {
    const id = str(ref);
    const parsed = id === undefined ? undefined : bare && /^[A-Za-z][-A-Za-z0-9._~%+]*$/.test(id) ? { project, name: id } : parseTopicId(id);
    if (parsed === undefined) {
      problems.push(`${what} is ${JSON.stringify(ref)}, not a topic id (projects/P/topics/T)`);
      return undefined;
    }
    if (parsed.project !== project) problems.push(`${what} is in project ${parsed.project}, but the stack's project is ${project}`);
    if (!topicNames.has(parsed.name)) problems.push(`${what} is ${parsed.name}, a topic the program does not declare`);
    return parsed.name;
  };

  const objects = new Map(ofType(TYPES.bucketObject).map((r) => [str(r.inputs.name), r]));
  const functions: LocalFunction[] = [];
  for (const r of ofType(TYPES.function)) {
    const name = str(r.inputs.name) ?? r.name;
    const build = obj(r.inputs.buildConfig);
    const service = obj(r.inputs.serviceConfig);
    const objectName = str(obj(obj(build.source).storageSource).object);
    const sourceObject = objectName === undefined ? undefined : objects.get(objectName);
    const archive = str(obj(sourceObject?.inputs.source).path);
    if (archive === undefined) problems.push(`function ${name}: its source object ${objectName ?? "(none)"} is not a declared bucket object with a file asset`);
    const entryPoint = str(build.entryPoint);
    if (entryPoint === undefined) problems.push(`function ${name}: no buildConfig.entryPoint`);
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(service.environmentVariables))) environment[k] = String(v);
    const secretEnvironment: Record<string, string> = {};
    for (const s of Array.isArray(service.secretEnvironmentVariables) ? service.secretEnvironmentVariables : []) {
      const key = str(obj(s).key);
      const secret = str(obj(s).secret);
      if (key === undefined || secret === undefined) problems.push(`function ${name}: a secret environment variable without key or secret`);
      else secretEnvironment[key] = secret;
    }
    functions.push({
      resource: r.name,
      name,
      entryPoint: entryPoint ?? "",
      runtime: str(build.runtime) ?? "",
      archive: archive ?? "",
      codeHash: environment.CODE_HASH,
      environment,
      secretEnvironment,
      timeoutSeconds: num(service.timeoutSeconds),
      concurrency: num(service.maxInstanceRequestConcurrency) ?? 1,
      declaredUrl: mockUrlOf(r, project, region),
    });
  }
  const functionByUrl = new Map(functions.map((f) => [f.declaredUrl, f.name]));
  const targetOf = (url: unknown, what: string): string | undefined => {
    const fn = functionByUrl.get(String(url));
    if (fn === undefined) problems.push(`${what} is ${JSON.stringify(url)}, which is no declared function's URL`);
    return fn;
  };

  const subscriptions: LocalSubscription[] = [];
  for (const r of ofType(TYPES.subscription)) {
    const name = str(r.inputs.name) ?? r.name;
    const what = `subscription ${name}`;
    try {
      const push = obj(r.inputs.pushConfig);
      const retry = obj(r.inputs.retryPolicy);
      const dlq = obj(r.inputs.deadLetterPolicy);
      const min = durationSeconds(retry.minimumBackoff, `${what} retryPolicy.minimumBackoff`);
      const max = durationSeconds(retry.maximumBackoff, `${what} retryPolicy.maximumBackoff`);
      const dlqTopic = Object.keys(dlq).length === 0 ? undefined : topicRef(dlq.deadLetterTopic, `${what} deadLetterPolicy.deadLetterTopic`);
      subscriptions.push({
        resource: r.name,
        name,
        topic: topicRef(r.inputs.topic, `${what} topic`, true) ?? "",
        ackDeadlineSeconds: num(r.inputs.ackDeadlineSeconds),
        messageRetentionSeconds: durationSeconds(r.inputs.messageRetentionDuration, `${what} messageRetentionDuration`),
        retainAckedMessages: typeof r.inputs.retainAckedMessages === "boolean" ? r.inputs.retainAckedMessages : undefined,
        pushTo: Object.keys(push).length === 0 ? undefined : targetOf(push.pushEndpoint, `${what} pushConfig.pushEndpoint`),
        // Pub/Sub's defaults when a retry policy is declared without one of its bounds.
        retry: Object.keys(retry).length === 0 ? undefined : { minimumBackoffSeconds: min ?? 10, maximumBackoffSeconds: max ?? 600 },
        deadLetter: dlqTopic === undefined ? undefined : { topic: dlqTopic, maxDeliveryAttempts: num(dlq.maxDeliveryAttempts) ?? 5 },
      });
    } catch (error) {
      if (!(error instanceof WiringError)) throw error;
      problems.push(...error.problems);
    }
  }

  const datasets = ofType(TYPES.dataset).map((r) => ({ resource: r.name, datasetId: str(r.inputs.datasetId) ?? r.name, location: str(r.inputs.location) }));
  const datasetIds = new Set(datasets.map((d) => d.datasetId));
  const tables: LocalTable[] = ofType(TYPES.table).map((r) => {
    const datasetId = str(r.inputs.datasetId) ?? "";
    const tableId = str(r.inputs.tableId) ?? r.name;
    if (!datasetIds.has(datasetId)) problems.push(`table ${tableId} is in dataset ${JSON.stringify(datasetId)}, which the program does not declare`);
    const schema = str(r.inputs.schema);
    if (schema === undefined) problems.push(`table ${tableId} has no schema`);
    const tp = obj(r.inputs.timePartitioning);
    return {
      resource: r.name,
      datasetId,
      tableId,
      description: str(r.inputs.description),
      schema: schema ?? "[]",
      timePartitioning:
        Object.keys(tp).length === 0
          ? undefined
          : {
              type: str(tp.type) ?? "DAY",
              ...(str(tp.field) === undefined ? {} : { field: str(tp.field)! }),
              ...(num(tp.expirationMs) === undefined ? {} : { expirationMs: num(tp.expirationMs)! }),
            },
      clusterings: Array.isArray(r.inputs.clusterings) ? r.inputs.clusterings.map(String) : [],
    };
  });

  const schedules: LocalSchedule[] = [];
  for (const r of ofType(TYPES.schedulerJob)) {
    const name = str(r.inputs.name) ?? r.name;
    const http = obj(r.inputs.httpTarget);
    const fn = targetOf(http.uri, `scheduler job ${name} httpTarget.uri`);
    if (fn !== undefined) schedules.push({ resource: r.name, name, functionName: fn, schedule: str(r.inputs.schedule) ?? "", httpMethod: str(http.httpMethod) ?? "POST" });
  }

  const subscriptionNames = subscriptions.map((s) => s.name);
  const dup = subscriptionNames.find((n, i) => subscriptionNames.indexOf(n) !== i);
  if (dup !== undefined) problems.push(`two subscriptions are named ${dup}`);
  if (problems.length > 0) throw new WiringError(problems);
  return { stack, project, region, topics, subscriptions, functions, datasets, tables, schedules };
}

/** The functions a push subscription reads for, i.e. the input topic of each function. */
export function inputTopicsByFunction(plan: LocalPlan): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of plan.subscriptions) {
    if (s.pushTo === undefined) continue;
    out.set(s.pushTo, [...(out.get(s.pushTo) ?? []), s.topic]);
  }
  return out;
}

// The composition root every deployed function shares (the orchestrators through
// orchestrator-runtime.ts, the scheduled jobs through scheduled/runtime.ts): the environment read
// once, the clients (Pub/Sub and BigQuery built on first use), the misconfigured fallback, `/health`
// routing and the deadline from the declared timeout. It imports no orchestrator, sweeper or
// reconciler code, so each bundle (and its code hash) carries only the function it deploys.
import { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import type { BigQuery } from "@google-cloud/bigquery";
import type { Request, Response } from "@google-cloud/functions-framework";
import { parseRuntimeEnv, type RuntimeEnv } from "../core/runtime-env.ts";
import { pipelineFromEnv } from "../core/pipeline.ts";
import type { Pipeline } from "../core/pipeline-types.ts";
import { routeTriggers } from "../core/trigger-routing.ts";
import { retentionFromEnv, type RetentionDays } from "../core/retention.ts";
import type { Logger } from "./logger.ts";
import { createBreaker, type Breaker } from "./circuit-breaker.ts";
import { eventBudgetMs, runWithDeadline } from "./retry.ts";
import { createSlackAlerter, type Alerter } from "./slack.ts";
import type { HealthChecker } from "./health.ts";
import type { BigQueryStore, ExecutionLogReader, StatusReader } from "./bigquery-store.ts";
import type { TriggerPublisher } from "./completion-tracker.ts";
import { createPubSubPublisher } from "./trigger-publisher.ts";
import { onFirstUse, publisherOnFirstUse, storeOnFirstUse } from "./lazy-clients.ts";
import { collectionNames } from "./collections.ts";

/**
 * Local BigQuery endpoint (the wire-level fake), local runs and tests only; in the cloud the client's
 * default endpoint is used. Not BIGQUERY_EMULATOR_HOST: @google-cloud/bigquery reads that name itself
 * and uses it as the whole base URL (without /bigquery/v2), which bypasses apiEndpoint.
 */
export const BIGQUERY_API_ENDPOINT = "BIGQUERY_API_ENDPOINT";

export type HttpHandler = (req: Request, res: Response) => Promise<void>;
export type FunctionEnv = Record<string, string | undefined>;

/**
 * Builds the handler with `build`. A broken environment must not crash the module at import
 * (docs/ARCHITECTURE.md FM1: no handler, no alert): the function then answers every request 500 and
 * /health 503, and logs CRITICAL each time, so the 5xx alert and the uptime check fire.
 */
export function startOrMisconfigured(label: string, baseLogger: Logger, build: () => HttpHandler): HttpHandler {
  try {
    return build();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    baseLogger.critical(`${label} cannot start: ${message}`, { error });
    return async (req: Request, res: Response) => {
      baseLogger.critical(`${label} is misconfigured and did no work: ${message}`, { error });
      res.status(req.method === "GET" ? 503 : 500).json({ status: "misconfigured", error: message });
    };
  }
}

/** `GET /health` (with or without the trailing slash). */
export function isHealthRequest(req: Request): boolean {
  return req.method === "GET" && (req.path === "/health" || req.path === "/health/");
}

/** Answers `GET /health` from the cached checker. */
export async function answerHealth(health: HealthChecker, res: Response): Promise<void> {
  const result = await health.check();
  res.status(result.statusCode).json(result.body);
}

/** What one event may spend, from the timeout the function is deployed with. */
export function budgetFromTimeout(rt: Pick<RuntimeEnv, "functionTimeoutSeconds">): number {
  return eventBudgetMs(rt.functionTimeoutSeconds * 1000);
}

/** Every retry of one request (the tracker's, the store's, ...) honours one deadline from its start. */
export function withEventDeadline(budgetMs: number, handler: HttpHandler): HttpHandler {
  return (req, res) => runWithDeadline(Date.now() + budgetMs, () => handler(req, res));
}

/** The parsed environment: throws on any misconfiguration, before a client is built. */
export interface FunctionSettings {
  rt: RuntimeEnv;
  /** The pipeline with its publish paths routed: in shadow mode no trigger reaches a live topic. */
  pipeline: Pipeline;
  retention: RetentionDays;
  collections: ReturnType<typeof collectionNames>;
  budgetMs: number;
}

export function readFunctionEnv(env: FunctionEnv, kind: "orchestrator" | "scheduled"): FunctionSettings {
  const rt = parseRuntimeEnv(env, kind);
  const retention = retentionFromEnv(env);
  const pipeline = routeTriggers(pipelineFromEnv(rt.pipelineConfigJson), rt.triggerMode);
  return { rt, pipeline, retention, collections: collectionNames(rt.firestorePrefix), budgetMs: budgetFromTimeout(rt) };
}

/** The clients one function uses; Pub/Sub and BigQuery are loaded and built on first use. */
export interface FunctionClients {
  db: Firestore;
  pubsub: () => Promise<PubSub>;
  publisher: TriggerPublisher;
  bigquery: () => Promise<BigQuery>;
  store: BigQueryStore & ExecutionLogReader & StatusReader;
  firestoreBreaker: Breaker;
  alerter: Alerter;
  /** Releases the clients (tests; a deployed function lives as long as its instance). */
  close(): Promise<void>;
}

/**
 * `logger` is the function's scoped logger. Its warnings (allowed here, e.g. no Slack webhook in dev)
 * are said once per instance, loudly.
 */
export function createFunctionClients(rt: RuntimeEnv, env: FunctionEnv, logger: Logger): FunctionClients {
  for (const warning of rt.warnings) logger.error(warning);
  const db = new Firestore({ projectId: rt.projectId, ignoreUndefinedProperties: true });
  // A cold instance answers sooner when it does not load libraries its request may never need:
  // docs/BENCHMARKS.md, cold start.
  let pubsubCreated: PubSub | undefined;
  const pubsub = onFirstUse(async () => (pubsubCreated = new (await import("@google-cloud/pubsub")).PubSub({ projectId: rt.projectId })));
  const bigqueryStoreModule = onFirstUse(() => import("./bigquery-store.ts"));
  const bqEndpoint = env[BIGQUERY_API_ENDPOINT];
  const bigquery = onFirstUse(async () =>
    (await bigqueryStoreModule()).createBigQueryClient({ projectId: rt.projectId, ...(bqEndpoint ? { apiEndpoint: bqEndpoint } : {}) }),
  );
  const concreteStore = onFirstUse(async () =>
    (await bigqueryStoreModule()).createBigQueryStore({ bigquery: await bigquery(), projectId: rt.projectId, datasetId: rt.bigqueryDataset, logger }),
  );
  const store: BigQueryStore & ExecutionLogReader & StatusReader = {
    ...storeOnFirstUse(concreteStore),
    listExecutionLogTriggerIds: async (range) => (await concreteStore()).listExecutionLogTriggerIds(range),
    listStatusTriggerIds: async (range) => (await concreteStore()).listStatusTriggerIds(range),
  };
  const firestoreBreaker = createBreaker(`${rt.functionName}:firestore`, { logger });
  return {
    db,
    pubsub,
    publisher: publisherOnFirstUse(async () => createPubSubPublisher(await pubsub())),
    bigquery,
    store,
    firestoreBreaker,
    alerter: createSlackAlerter({ webhookUrl: rt.slackWebhookUrl, functionName: rt.functionName, codeHash: rt.codeHash, logger }),
    close: async () => {
      firestoreBreaker.shutdown();
      await Promise.all([db.terminate(), pubsubCreated?.close()]);
    },
  };
}

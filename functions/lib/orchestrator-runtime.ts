// Builds an orchestrator from its environment (set by infra, see core/runtime-env.ts). A broken
// environment must not crash the module at import (docs/ARCHITECTURE.md FM1: no handler, no alert): the
// function then answers every request 500 and /health 503, and logs CRITICAL each time, so the 5xx
// alert and the uptime check fire.
import { Firestore } from "@google-cloud/firestore";
import type { Request, Response } from "@google-cloud/functions-framework";
import { isStrictEnvironment, parseRuntimeEnv } from "../core/runtime-env.ts";
import { pipelineFromEnv, transitionById } from "../core/pipeline.ts";
import { routeTriggers } from "../core/trigger-routing.ts";
import { retentionFromEnv } from "../core/retention.ts";
import { createLogger } from "./logger.ts";
import type { Logger } from "./logger.ts";
import { createBreaker } from "./circuit-breaker.ts";
import { eventBudgetMs, runWithDeadline, setDefaultRetryRuntime } from "./retry.ts";
import { createSlackAlerter } from "./slack.ts";
import { bigqueryCheck, createHealthChecker, firestoreCheck, pubsubPublishCheck } from "./health.ts";
import { createCompletionTracker } from "./completion-tracker.ts";
import { createQuarantine } from "./quarantine.ts";
import { createPubSubPublisher } from "./trigger-publisher.ts";
import { checkOnFirstUse, onFirstUse, publisherOnFirstUse, storeOnFirstUse } from "./lazy-clients.ts";
import { createOrchestratorHandler } from "./orchestrator.ts";
import type { HttpHandler } from "./orchestrator.ts";
import { collectionNames } from "./collections.ts";

/**
 * Local BigQuery endpoint (the wire-level fake), local runs and tests only; in the cloud the client's
 * default endpoint is used. Not BIGQUERY_EMULATOR_HOST: @google-cloud/bigquery reads that name itself
 * and uses it as the whole base URL (without /bigquery/v2), which bypasses apiEndpoint.
 */
export const BIGQUERY_API_ENDPOINT = "BIGQUERY_API_ENDPOINT";

/**
 * Knobs for tests and local runs only, so fault tests do not wait out production retry budgets. Rejected (the function then starts
 * misconfigured: 500/503 and CRITICAL) when DEPLOY_ENV is staging or prod (core/runtime-env.ts LOCAL_ONLY_ENV_KEYS lists them too).
 */
export const LOCAL_KNOBS = {
  /** Bound of one Firestore attempt (transaction, quarantine write), ms. */
  firestoreAttemptTimeoutMs: "ORCHESTRATOR_FIRESTORE_ATTEMPT_TIMEOUT_MS",
  /** "1": retries follow at once (full jitter's lower bound, 0 ms) instead of after a random backoff. */
  noRetryBackoff: "ORCHESTRATOR_NO_RETRY_BACKOFF",
} as const;

export interface LocalKnobs {
  firestoreAttemptTimeoutMs?: number;
  noRetryBackoff: boolean;
}

/** Parses the local knobs; throws when one is malformed, or set at all in staging or prod. */
export function parseLocalKnobs(env: Record<string, string | undefined>): LocalKnobs {
  const set = Object.values(LOCAL_KNOBS).filter((k) => env[k] !== undefined && env[k] !== "");
  if (set.length > 0 && isStrictEnvironment(env.DEPLOY_ENV)) {
    throw new Error(`${set.join(", ")} are test/local knobs and must not be set when DEPLOY_ENV is ${env.DEPLOY_ENV}`);
  }
  const int = (key: string, min: number, max: number): number | undefined => {
    const raw = env[key];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${key} must be an integer in [${min}, ${max}], got "${raw}"`);
    return n;
  };
  const timeout = int(LOCAL_KNOBS.firestoreAttemptTimeoutMs, 50, 60_000);
  const backoff = env[LOCAL_KNOBS.noRetryBackoff];
  if (backoff !== undefined && backoff !== "" && backoff !== "1" && backoff !== "0") {
    throw new Error(`${LOCAL_KNOBS.noRetryBackoff} must be 0 or 1, got "${backoff}"`);
  }
  return {
    ...(timeout === undefined ? {} : { firestoreAttemptTimeoutMs: timeout }),
    noRetryBackoff: backoff === "1",
  };
}

export function createOrchestratorFromEnv(
  transitionId: string,
  env: Record<string, string | undefined> = process.env,
  baseLogger: Logger = createLogger({ function: env.FUNCTION_NAME ?? `${transitionId}-orchestrator` }),
): HttpHandler {
  let handler: HttpHandler;
  try {
    handler = build(transitionId, env, baseLogger);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    baseLogger.critical(`orchestrator ${transitionId} cannot start: ${message}`, { error });
    handler = async (req: Request, res: Response) => {
      baseLogger.critical(`orchestrator ${transitionId} is misconfigured and did no work: ${message}`, { error });
      res.status(req.method === "GET" ? 503 : 500).json({ status: "misconfigured", error: message });
    };
  }
  return handler;
}

function build(transitionId: string, env: Record<string, string | undefined>, baseLogger: Logger): HttpHandler {
  const rt = parseRuntimeEnv(env, "orchestrator");
  const knobs = parseLocalKnobs(env);
  const retention = retentionFromEnv(env);
  if (knobs.noRetryBackoff) setDefaultRetryRuntime({ random: () => 0 });
  if (rt.transitionId !== transitionId) {
    throw new Error(`TRANSITION_ID is "${rt.transitionId}" but this bundle is the ${transitionId} orchestrator`);
  }
  // Every publish path reads the routed output topic: in shadow mode no trigger reaches a live topic.
  const pipeline = routeTriggers(pipelineFromEnv(rt.pipelineConfigJson), rt.triggerMode);
  const transition = transitionById(pipeline, transitionId);
  const logger = baseLogger.child({ function: rt.functionName, code_hash: rt.codeHash, phase: transition.phaseWireName });
  // Allowed here (e.g. no Slack webhook in dev), but said once per instance, loudly.
  for (const warning of rt.warnings) logger.error(warning);
  const collections = collectionNames(rt.firestorePrefix);

  const db = new Firestore({ projectId: rt.projectId, ignoreUndefinedProperties: true });
  // Pub/Sub and BigQuery are loaded and built on first use (a recording completion never publishes),
  // so a cold instance answers sooner: docs/BENCHMARKS.md, cold start.
  const pubsub = onFirstUse(async () => new (await import("@google-cloud/pubsub")).PubSub({ projectId: rt.projectId }));
  const bigqueryStoreModule = onFirstUse(() => import("./bigquery-store.ts"));
  const bqEndpoint = env[BIGQUERY_API_ENDPOINT];
  const bigquery = onFirstUse(async () =>
    (await bigqueryStoreModule()).createBigQueryClient({ projectId: rt.projectId, ...(bqEndpoint ? { apiEndpoint: bqEndpoint } : {}) }),
  );
  const firestoreBreaker = createBreaker(`${rt.functionName}:firestore`, { logger });
  const alerter = createSlackAlerter({ webhookUrl: rt.slackWebhookUrl, functionName: rt.functionName, codeHash: rt.codeHash, logger });

  const sink = storeOnFirstUse(async () =>
    (await bigqueryStoreModule()).createBigQueryStore({ bigquery: await bigquery(), projectId: rt.projectId, datasetId: rt.bigqueryDataset, logger }),
  );
  // What one push may spend, from the timeout the function is deployed with.
  const budgetMs = eventBudgetMs(rt.functionTimeoutSeconds * 1000);
  const tracker = createCompletionTracker({
    db,
    stateCollection: collections.phaseState,
    sink,
    publisher: publisherOnFirstUse(async () => createPubSubPublisher(await pubsub())),
    firestoreBreaker,
    logger,
    transition,
    timeZone: pipeline.timeZone,
    functionName: rt.functionName,
    codeHash: rt.codeHash,
    eventBudgetMs: budgetMs,
    ...(knobs.firestoreAttemptTimeoutMs === undefined ? {} : { transactionTimeoutMs: knobs.firestoreAttemptTimeoutMs }),
  });
  const quarantine = createQuarantine({
    db,
    collection: collections.quarantine,
    unknownProcessorCollection: collections.unknownProcessors,
    retention,
    breaker: firestoreBreaker,
    logger,
    ...(knobs.firestoreAttemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: knobs.firestoreAttemptTimeoutMs }),
  });
  const health = createHealthChecker({
    service: rt.functionName,
    version: rt.codeHash,
    logger,
    checks: {
      firestore: firestoreCheck(db),
      bigquery: checkOnFirstUse(async () => bigqueryCheck(await bigquery(), rt.bigqueryDataset)),
      pubsub: checkOnFirstUse(async () => pubsubPublishCheck(await pubsub(), transition.outputTopicName, logger)),
    },
  });
  const handler = createOrchestratorHandler({
    transition,
    functionName: rt.functionName,
    projectId: rt.projectId,
    tracker,
    quarantine,
    health,
    alerter,
    logger,
  });
  // Every retry of one push (the tracker's, the quarantine's, the store's) honours one deadline.
  return (req, res) => runWithDeadline(Date.now() + budgetMs, () => handler(req, res));
}

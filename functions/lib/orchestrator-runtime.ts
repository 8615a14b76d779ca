// Builds an orchestrator from its environment (set by infra, see core/runtime-env.ts) on the shared
// composition root (function-runtime.ts): a broken environment answers 500/503 with CRITICAL instead
// of crashing at import.
import { isStrictEnvironment } from "../core/runtime-env.ts";
import { transitionById } from "../core/pipeline.ts";
import { ConfigurationError } from "../core/error-family.ts";
import { createLogger } from "./logger.ts";
import type { Logger } from "./logger.ts";
import { setDefaultRetryRuntime } from "./retry.ts";
import { bigqueryCheck, createHealthChecker, firestoreCheck, pubsubPublishCheck } from "./health.ts";
import { createCompletionTracker } from "./completion-tracker.ts";
import { createQuarantine } from "./quarantine.ts";
import { checkOnFirstUse } from "./lazy-clients.ts";
import { createOrchestratorHandler } from "./orchestrator.ts";
import type { HttpHandler } from "./orchestrator.ts";
import { createFunctionClients, readFunctionEnv, startOrMisconfigured, withEventDeadline } from "./function-runtime.ts";

export { BIGQUERY_API_ENDPOINT } from "./function-runtime.ts";

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
    throw new ConfigurationError(`${set.join(", ")} are test/local knobs and must not be set when DEPLOY_ENV is ${env.DEPLOY_ENV}`);
  }
  const int = (key: string, min: number, max: number): number | undefined => {
    const raw = env[key];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigurationError(`${key} must be an integer in [${min}, ${max}], got "${raw}"`);
    return n;
  };
  const timeout = int(LOCAL_KNOBS.firestoreAttemptTimeoutMs, 50, 60_000);
  const backoff = env[LOCAL_KNOBS.noRetryBackoff];
  if (backoff !== undefined && backoff !== "" && backoff !== "1" && backoff !== "0") {
    throw new ConfigurationError(`${LOCAL_KNOBS.noRetryBackoff} must be 0 or 1, got "${backoff}"`);
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
  return startOrMisconfigured(`orchestrator ${transitionId}`, baseLogger, () => build(transitionId, env, baseLogger));
}

function build(transitionId: string, env: Record<string, string | undefined>, baseLogger: Logger): HttpHandler {
  const { rt, pipeline, retention, collections, budgetMs } = readFunctionEnv(env, "orchestrator");
  const knobs = parseLocalKnobs(env);
  if (knobs.noRetryBackoff) setDefaultRetryRuntime({ random: () => 0 });
  if (rt.transitionId !== transitionId) {
    throw new ConfigurationError(`TRANSITION_ID is "${rt.transitionId}" but this bundle is the ${transitionId} orchestrator`);
  }
  const transition = transitionById(pipeline, transitionId);
  const logger = baseLogger.child({ function: rt.functionName, code_hash: rt.codeHash, phase: transition.phaseWireName });
  const { db, pubsub, publisher, bigquery, store, firestoreBreaker, alerter } = createFunctionClients(rt, env, logger);

  const tracker = createCompletionTracker({
    db,
    stateCollection: collections.phaseState,
    sink: store,
    // Asked before republishing a trigger this call did not latch (published already, mark failed?).
    executionLog: store,
    publisher,
    firestoreBreaker,
    logger,
    transition,
    timeZone: pipeline.timeZone,
    functionName: rt.functionName,
    codeHash: rt.codeHash,
    eventBudgetMs: budgetMs,
    phaseStateRetentionDays: retention.phaseState,
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
  return withEventDeadline(budgetMs, handler);
}

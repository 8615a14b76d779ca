// Builds an orchestrator from its environment (set by infra, see core/runtime-env.ts). A broken
// environment must not crash the module at import (failure mode 1: no handler, no alert): the
// function then answers every request 500 and /health 503, and logs CRITICAL each time, so the 5xx
// alert and the uptime check fire.
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import type { Request, Response } from "@google-cloud/functions-framework";
import { parseRuntimeEnv } from "../core/runtime-env.ts";
import { pipelineFromEnv, transitionById } from "../core/pipeline.ts";
import { createLogger } from "./logger.ts";
import type { Logger } from "./logger.ts";
import { createBreaker } from "./circuit-breaker.ts";
import { createSlackAlerter } from "./slack.ts";
import { bigqueryCheck, createHealthChecker, firestoreCheck, pubsubCheck } from "./health.ts";
import { createCompletionTracker } from "./completion-tracker.ts";
import { createQuarantine } from "./quarantine.ts";
import { createPubSubPublisher } from "./trigger-publisher.ts";
import { createBigQueryClient, createBigQueryStore } from "./bigquery-store.ts";
import { createOrchestratorHandler } from "./orchestrator.ts";
import type { HttpHandler } from "./orchestrator.ts";
import { collectionNames } from "./collections.ts";

/**
 * Local BigQuery endpoint (the wire-level fake), local runs and tests only; in the cloud the client's
 * default endpoint is used. Not BIGQUERY_EMULATOR_HOST: @google-cloud/bigquery reads that name itself
 * and uses it as the whole base URL (without /bigquery/v2), which bypasses apiEndpoint.
 */
export const BIGQUERY_API_ENDPOINT = "BIGQUERY_API_ENDPOINT";

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
  if (rt.transitionId !== transitionId) {
    throw new Error(`TRANSITION_ID is "${rt.transitionId}" but this bundle is the ${transitionId} orchestrator`);
  }
  const pipeline = pipelineFromEnv(rt.pipelineConfigJson);
  const transition = transitionById(pipeline, transitionId);
  const logger = baseLogger.child({ function: rt.functionName, code_hash: rt.codeHash, phase: transition.phaseWireName });
  const collections = collectionNames(rt.firestorePrefix);

  const db = new Firestore({ projectId: rt.projectId, ignoreUndefinedProperties: true });
  const pubsub = new PubSub({ projectId: rt.projectId });
  const bqEndpoint = env[BIGQUERY_API_ENDPOINT];
  const bigquery = createBigQueryClient({ projectId: rt.projectId, ...(bqEndpoint ? { apiEndpoint: bqEndpoint } : {}) });
  const firestoreBreaker = createBreaker(`${rt.functionName}:firestore`, { logger });
  const alerter = createSlackAlerter({ webhookUrl: rt.slackWebhookUrl, functionName: rt.functionName, codeHash: rt.codeHash, logger });

  const sink = createBigQueryStore({ bigquery, projectId: rt.projectId, datasetId: rt.bigqueryDataset, logger });
  const tracker = createCompletionTracker({
    db,
    stateCollection: collections.phaseState,
    sink,
    publisher: createPubSubPublisher(pubsub),
    firestoreBreaker,
    logger,
    transition,
    timeZone: pipeline.timeZone,
    functionName: rt.functionName,
    codeHash: rt.codeHash,
  });
  const quarantine = createQuarantine({
    db,
    collection: collections.quarantine,
    unknownProcessorCollection: collections.unknownProcessors,
    breaker: firestoreBreaker,
    logger,
  });
  const health = createHealthChecker({
    service: rt.functionName,
    version: rt.codeHash,
    logger,
    checks: {
      firestore: firestoreCheck(db),
      bigquery: bigqueryCheck(bigquery, rt.bigqueryDataset),
      pubsub: pubsubCheck(pubsub, transition.outputTopicName),
    },
  });
  return createOrchestratorHandler({
    transition,
    functionName: rt.functionName,
    projectId: rt.projectId,
    tracker,
    quarantine,
    health,
    alerter,
    logger,
  });
}

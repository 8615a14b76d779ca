// Scheduled-job test support: a pipeline with its own sport (so its topics are this test's only),
// phase-state documents built with the single writer's rules, the environment infra sets on a
// scheduled function, and completions recorded through the real completion tracker.
import { randomBytes } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import { resolvePipeline, serializePipeline } from "../../functions/core/pipeline.ts";
import type { CompletionStatus, Pipeline, PipelineConfig, Transition } from "../../functions/core/pipeline-types.ts";
import {
  applyCompletion,
  emptyPhaseState,
  latchModeFor,
  type PhaseStateDoc,
  type ResolvedCompletion,
} from "../../functions/core/phase-state.ts";
import { createCompletionTracker } from "../../functions/lib/completion-tracker.ts";
import type { BigQueryStore } from "../../functions/lib/bigquery-store.ts";
import { createBreaker } from "../../functions/lib/circuit-breaker.ts";
import { createPubSubPublisher } from "../../functions/lib/trigger-publisher.ts";
import type { Logger } from "../../functions/lib/logger.ts";
import { TEST_CODE_HASH, TEST_DATASET } from "../runtime/support.ts";

export const MINUTE = 60_000;

/** The default pipeline under a sport no other test uses (topic names are per sport). */
export function isolatedPipelineConfig(): PipelineConfig {
  return { ...DEFAULT_PIPELINE, sport: `s${randomBytes(4).toString("hex")}` };
}

export function transitionOf(pipeline: Pipeline, id: string): Transition {
  const t = pipeline.transitions.find((x) => x.id === id);
  if (t === undefined) throw new Error(`no transition ${id}`);
  return t;
}

export const PIPELINE = resolvePipeline(DEFAULT_PIPELINE);

let executions = 0;

export function completion(processor: string, gameDate: string, at: Date, overrides: Partial<ResolvedCompletion> = {}): ResolvedCompletion {
  executions++;
  return {
    processor,
    reportedName: processor,
    status: "success" as CompletionStatus,
    gameDate,
    executionId: `exec${executions}`,
    correlationId: `corr-${gameDate}`,
    completedAt: at.toISOString(),
    messageId: `msg-${executions}`,
    ...overrides,
  };
}

/** A document as the tracker would have left it after these completions (recorded at their completedAt). */
export function docWith(transition: Transition, gameDate: string, completions: ResolvedCompletion[], now: Date, timeZone = "America/New_York"): PhaseStateDoc {
  const mode = latchModeFor(transition, gameDate, now, timeZone);
  let doc = emptyPhaseState(transition.id, gameDate, mode, now);
  for (const c of completions) doc = applyCompletion(doc, c, new Date(c.completedAt)).doc;
  return doc;
}

/** The environment infra sets on a scheduled function, pointed at local parts. */
export function scheduledEnv(o: {
  functionName: string;
  projectId: string;
  bigqueryUrl: string;
  prefix: string;
  pipeline: PipelineConfig;
  slackUrl?: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    FUNCTION_NAME: o.functionName,
    CODE_HASH: TEST_CODE_HASH,
    GCP_PROJECT_ID: o.projectId,
    BQ_DATASET: TEST_DATASET,
    FIRESTORE_COLLECTION_PREFIX: o.prefix,
    DEPLOY_ENV: "test",
    PIPELINE_CONFIG: serializePipeline(o.pipeline),
    // The stacks' default timeout (Pulumi.yaml functionTimeoutSeconds).
    FUNCTION_TIMEOUT_SECONDS: "300",
    BIGQUERY_API_ENDPOINT: o.bigqueryUrl,
    ...(o.slackUrl ? { SLACK_WEBHOOK_URL: o.slackUrl } : {}),
    ...o.extra,
  };
}

/** The real completion tracker of one transition (what an orchestrator runs), with an injected clock. */
export function realTracker(o: {
  db: Firestore;
  pubsub: PubSub;
  store: BigQueryStore;
  prefix: string;
  transition: Transition;
  logger: Logger;
  clock: () => Date;
}) {
  return createCompletionTracker({
    db: o.db,
    stateCollection: `${o.prefix}phase_state`,
    sink: o.store,
    publisher: createPubSubPublisher(o.pubsub),
    firestoreBreaker: createBreaker(`test-tracker-${o.transition.id}-${randomBytes(3).toString("hex")}`, { logger: o.logger }),
    logger: o.logger,
    transition: o.transition,
    timeZone: "America/New_York",
    functionName: o.transition.functionName,
    codeHash: TEST_CODE_HASH,
    clock: o.clock,
  });
}

export function uniquePrefix(): string {
  return `t${randomBytes(4).toString("hex")}_`;
}

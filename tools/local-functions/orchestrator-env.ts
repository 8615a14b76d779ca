// The environment infra sets on an orchestrator, pointed at local parts (emulators, the BigQuery
// fake, a Slack sink), for an orchestrator served locally by tests or the bench.
import { serializePipeline } from "../../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import type { PipelineConfig } from "../../functions/core/pipeline-types.ts";

export const LOCAL_DATASET = "nba_orchestration";
export const LOCAL_CODE_HASH = "a".repeat(64);

export interface FunctionEnvOptions {
  transitionId: string;
  projectId: string;
  firestoreHost: string;
  pubsubHost: string;
  bigqueryUrl: string;
  slackUrl?: string;
  firestorePrefix?: string;
  pipeline?: PipelineConfig;
  extra?: Record<string, string>;
}

export function orchestratorEnv(o: FunctionEnvOptions): Record<string, string> {
  return {
    FUNCTION_NAME: `${o.transitionId}-orchestrator`,
    TRANSITION_ID: o.transitionId,
    CODE_HASH: LOCAL_CODE_HASH,
    GCP_PROJECT_ID: o.projectId,
    BQ_DATASET: LOCAL_DATASET,
    FIRESTORE_COLLECTION_PREFIX: o.firestorePrefix ?? "",
    DEPLOY_ENV: "test",
    PIPELINE_CONFIG: serializePipeline(o.pipeline ?? DEFAULT_PIPELINE),
    // The stacks' default timeout (Pulumi.yaml functionTimeoutSeconds).
    FUNCTION_TIMEOUT_SECONDS: "300",
    FIRESTORE_EMULATOR_HOST: o.firestoreHost,
    PUBSUB_EMULATOR_HOST: o.pubsubHost,
    BIGQUERY_API_ENDPOINT: o.bigqueryUrl,
    ...(o.slackUrl ? { SLACK_WEBHOOK_URL: o.slackUrl } : {}),
    ...o.extra,
  };
}

// The environment of each deployed function, from the pipeline model and the stack config, keyed by
// the runtime's own contract (functions/core/runtime-env.ts). Pure.
import { serializePipeline } from "../functions/core/pipeline.ts";
import type { Pipeline } from "../functions/core/pipeline-types.ts";
import { RETENTION_DEFAULTS, RETENTION_ENV_KEY, serializeRetention, type RetentionDays } from "../functions/core/retention.ts";
import { RUNTIME_ENV_KEYS } from "../functions/core/runtime-env.ts";
import { DEFAULT_TRIGGER_MODE, type TriggerMode } from "../functions/core/trigger-routing.ts";
import type { FunctionSpec } from "./function-registry.ts";
import type { StackConfig } from "./stack-config.ts";

/** Plain variables. The Slack webhook is not here: it is a Secret Manager reference (secretEnvironmentVariables). */
export function functionEnvironment(
  spec: FunctionSpec,
  pipeline: Pipeline,
  config: Pick<StackConfig, "project" | "bigquery" | "firestoreCollectionPrefix" | "environment"> & {
    functions: Pick<StackConfig["functions"], "timeoutSeconds">;
    /** Where the function publishes triggers (default live). */
    triggerMode?: TriggerMode;
  },
  codeHash: string,
  /** The stack's retention (config retention*Days): the expire_at the function writes on its documents. */
  retention: RetentionDays = RETENTION_DEFAULTS,
): Record<string, string> {
  const env: Record<string, string> = {
    [RUNTIME_ENV_KEYS.pipelineConfig]: serializePipeline(pipeline),
    // The code identity (model name, no environment prefix): what the manifest and the drift report key on.
    [RUNTIME_ENV_KEYS.functionName]: spec.name,
    [RUNTIME_ENV_KEYS.codeHash]: codeHash,
    [RUNTIME_ENV_KEYS.projectId]: config.project,
    [RUNTIME_ENV_KEYS.bigqueryDataset]: config.bigquery.datasetId,
    [RUNTIME_ENV_KEYS.firestorePrefix]: config.firestoreCollectionPrefix,
    [RUNTIME_ENV_KEYS.environment]: config.environment,
    // The timeout the function is deployed with (serviceConfig.timeoutSeconds, same config value):
    // the runtime derives each event's deadline from it, so its retries end before the platform's cut.
    [RUNTIME_ENV_KEYS.functionTimeoutSeconds]: String(config.functions.timeoutSeconds),
    // Always set, so a shadow deployment can never fall back to publishing live.
    [RUNTIME_ENV_KEYS.triggerMode]: config.triggerMode ?? DEFAULT_TRIGGER_MODE,
  };
  if (spec.transitionId !== undefined) env[RUNTIME_ENV_KEYS.transitionId] = spec.transitionId;
  env[RETENTION_ENV_KEY] = serializeRetention(retention);
  return env;
}

/** The variable the Slack webhook secret is mounted as. */
export const SLACK_WEBHOOK_ENV = RUNTIME_ENV_KEYS.slackWebhookUrl;

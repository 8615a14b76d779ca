// The environment contract between infra (which sets these variables on every function) and the
// runtime (which reads them at start). One definition, so a variable the program does not set is a
// failure at start-up (and in the local stack), not a silent default in production.
import { z } from "zod";

export const RUNTIME_ENV_KEYS = {
  pipelineConfig: "PIPELINE_CONFIG",
  transitionId: "TRANSITION_ID",
  functionName: "FUNCTION_NAME",
  codeHash: "CODE_HASH",
  projectId: "GCP_PROJECT_ID",
  bigqueryDataset: "BQ_DATASET",
  firestorePrefix: "FIRESTORE_COLLECTION_PREFIX",
  environment: "DEPLOY_ENV",
  slackWebhookUrl: "SLACK_WEBHOOK_URL",
} as const;

/** Variables every function needs. SLACK_WEBHOOK_URL comes from Secret Manager (secretEnvironmentVariables). */
const baseSchema = z.object({
  [RUNTIME_ENV_KEYS.functionName]: z.string().min(1),
  [RUNTIME_ENV_KEYS.codeHash]: z.string().regex(/^[0-9a-f]{64}$/, "must be a sha256 hex digest"),
  [RUNTIME_ENV_KEYS.projectId]: z.string().min(1),
  [RUNTIME_ENV_KEYS.bigqueryDataset]: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, "must be a BigQuery dataset id"),
  [RUNTIME_ENV_KEYS.firestorePrefix]: z.string().regex(/^[A-Za-z0-9_]*$/, "letters, digits and _ only"),
  [RUNTIME_ENV_KEYS.environment]: z.string().min(1),
  [RUNTIME_ENV_KEYS.pipelineConfig]: z.string().min(2),
  [RUNTIME_ENV_KEYS.slackWebhookUrl]: z.string().optional(),
});

const orchestratorSchema = baseSchema.extend({
  [RUNTIME_ENV_KEYS.transitionId]: z.string().min(1),
});

export interface RuntimeEnv {
  functionName: string;
  codeHash: string;
  projectId: string;
  bigqueryDataset: string;
  firestorePrefix: string;
  environment: string;
  pipelineConfigJson: string;
  slackWebhookUrl: string | undefined;
  transitionId: string | undefined;
}

export class RuntimeEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid function environment: ${problems.join("; ")}`);
    this.name = "RuntimeEnvError";
  }
}

/** Parse the environment of a function; `orchestrator` functions also need TRANSITION_ID. */
export function parseRuntimeEnv(env: Record<string, string | undefined>, kind: "orchestrator" | "scheduled"): RuntimeEnv {
  const schema = kind === "orchestrator" ? orchestratorSchema : baseSchema;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new RuntimeEnvError(parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`));
  }
  const v = parsed.data as Record<string, string | undefined>;
  return {
    functionName: v[RUNTIME_ENV_KEYS.functionName]!,
    codeHash: v[RUNTIME_ENV_KEYS.codeHash]!,
    projectId: v[RUNTIME_ENV_KEYS.projectId]!,
    bigqueryDataset: v[RUNTIME_ENV_KEYS.bigqueryDataset]!,
    firestorePrefix: v[RUNTIME_ENV_KEYS.firestorePrefix]!,
    environment: v[RUNTIME_ENV_KEYS.environment]!,
    pipelineConfigJson: v[RUNTIME_ENV_KEYS.pipelineConfig]!,
    slackWebhookUrl: v[RUNTIME_ENV_KEYS.slackWebhookUrl] || undefined,
    transitionId: v[RUNTIME_ENV_KEYS.transitionId],
  };
}

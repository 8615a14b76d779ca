// The environment contract between infra (which sets these variables on every function) and the
// runtime (which reads them at start). One definition, so a variable the program does not set is a
// failure at start-up (and in the local stack), not a silent default in production.
import { z } from "zod";
import { DEFAULT_TRIGGER_MODE, TRIGGER_MODES, type TriggerMode } from "./trigger-routing.ts";
import { formatIssues } from "./zod-issues.ts";
import { ConfigurationError } from "./error-family.ts";

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
  /** The function's declared timeout, whole seconds: every event runs inside a deadline derived from it. */
  functionTimeoutSeconds: "FUNCTION_TIMEOUT_SECONDS",
  /** live | shadow (functions/core/trigger-routing.ts): where triggers are published. Infra always sets it. */
  triggerMode: "TRIGGER_MODE",
} as const;

/** Cloud Functions (2nd gen) HTTP functions may declare 1..3600 s. */
export const FUNCTION_TIMEOUT_SECONDS_RANGE = { min: 1, max: 3600 } as const;

/** DEPLOY_ENV values of the shared environments: there a configuration gap is an error, never a quiet default. */
export const STRICT_ENVIRONMENTS: readonly string[] = ["staging", "prod"];

export const isStrictEnvironment = (environment: string | undefined): boolean =>
  environment !== undefined && STRICT_ENVIRONMENTS.includes(environment);

/**
 * Variables that point a function at local stand-ins or loosen its bounds, for local runs and tests
 * only: the emulator hosts the Google clients read themselves, the BigQuery fake's endpoint, and the
 * orchestrator's test knobs (functions/lib/orchestrator-runtime.ts LOCAL_KNOBS). In a strict
 * environment any of them set is a configuration error: a function talking to an emulator address
 * would lose every write while looking healthy to nobody.
 */
export const LOCAL_ONLY_ENV_KEYS: readonly string[] = [
  "FIRESTORE_EMULATOR_HOST",
  "PUBSUB_EMULATOR_HOST",
  // @google-cloud/bigquery reads this name itself (as its whole base URL).
  "BIGQUERY_EMULATOR_HOST",
  "BIGQUERY_API_ENDPOINT",
  "ORCHESTRATOR_FIRESTORE_ATTEMPT_TIMEOUT_MS",
  "ORCHESTRATOR_NO_RETRY_BACKOFF",
];

/**
 * The rules that depend on DEPLOY_ENV, apart from the schema: problems (the function must not start)
 * and warnings (it starts, and says once, loudly, what it will not do). Pure.
 */
export function checkEnvironmentRules(env: Record<string, string | undefined>): { problems: string[]; warnings: string[] } {
  const environment = env[RUNTIME_ENV_KEYS.environment];
  const problems: string[] = [];
  const warnings: string[] = [];
  const webhook = env[RUNTIME_ENV_KEYS.slackWebhookUrl]?.trim() ?? "";
  if (isStrictEnvironment(environment)) {
    if (webhook === "") {
      problems.push(`${RUNTIME_ENV_KEYS.slackWebhookUrl}: required when DEPLOY_ENV is ${environment} (without it no alert is ever sent)`);
    }
    for (const key of LOCAL_ONLY_ENV_KEYS) {
      if ((env[key] ?? "") !== "") problems.push(`${key}: a local/test setting, must not be set when DEPLOY_ENV is ${environment}`);
    }
  } else if (webhook === "") {
    warnings.push(`${RUNTIME_ENV_KEYS.slackWebhookUrl} is not set: alerts are logged only, never sent to Slack (allowed when DEPLOY_ENV is ${environment ?? "unset"})`);
  }
  return { problems, warnings };
}

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
  [RUNTIME_ENV_KEYS.functionTimeoutSeconds]: z
    .string()
    .regex(/^[0-9]+$/, "must be whole seconds")
    .refine(
      (v) => Number(v) >= FUNCTION_TIMEOUT_SECONDS_RANGE.min && Number(v) <= FUNCTION_TIMEOUT_SECONDS_RANGE.max,
      `must be ${FUNCTION_TIMEOUT_SECONDS_RANGE.min}..${FUNCTION_TIMEOUT_SECONDS_RANGE.max}`,
    ),
  // Absent only in functions deployed before the mode existed, which published live.
  [RUNTIME_ENV_KEYS.triggerMode]: z.enum(TRIGGER_MODES).optional(),
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
  functionTimeoutSeconds: number;
  triggerMode: TriggerMode;
  /** What the function will not do in this environment (e.g. no Slack alerts in dev); log each once at start. */
  warnings: string[];
}

export class RuntimeEnvError extends ConfigurationError {
  override readonly name: string = "RuntimeEnvError";
  constructor(readonly problems: string[]) {
    super(`invalid function environment: ${problems.join("; ")}`);
  }
}

/** Parse the environment of a function; `orchestrator` functions also need TRANSITION_ID. */
export function parseRuntimeEnv(env: Record<string, string | undefined>, kind: "orchestrator" | "scheduled"): RuntimeEnv {
  const schema = kind === "orchestrator" ? orchestratorSchema : baseSchema;
  const parsed = schema.safeParse(env);
  const rules = checkEnvironmentRules(env);
  const problems = [...(parsed.success ? [] : formatIssues(parsed.error, "(env)")), ...rules.problems];
  if (!parsed.success || problems.length > 0) throw new RuntimeEnvError(problems);
  const v = parsed.data as Record<string, string | undefined>;
  return {
    functionName: v[RUNTIME_ENV_KEYS.functionName]!,
    codeHash: v[RUNTIME_ENV_KEYS.codeHash]!,
    projectId: v[RUNTIME_ENV_KEYS.projectId]!,
    bigqueryDataset: v[RUNTIME_ENV_KEYS.bigqueryDataset]!,
    firestorePrefix: v[RUNTIME_ENV_KEYS.firestorePrefix]!,
    environment: v[RUNTIME_ENV_KEYS.environment]!,
    pipelineConfigJson: v[RUNTIME_ENV_KEYS.pipelineConfig]!,
    slackWebhookUrl: v[RUNTIME_ENV_KEYS.slackWebhookUrl]?.trim() || undefined,
    transitionId: v[RUNTIME_ENV_KEYS.transitionId],
    functionTimeoutSeconds: Number(v[RUNTIME_ENV_KEYS.functionTimeoutSeconds]),
    triggerMode: (v[RUNTIME_ENV_KEYS.triggerMode] as TriggerMode | undefined) ?? DEFAULT_TRIGGER_MODE,
    warnings: rules.warnings,
  };
}

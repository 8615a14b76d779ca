// The stack configuration: every key the program reads, validated at once with zod so that bad or
// missing config fails with one message naming every offending key. Defaults live in Pulumi.yaml
// (the CLI applies them; `npm run plan` reads them from there too), so here every key is required.
// Pure: takes the raw strings the Pulumi runtime holds, returns typed values.
import { z } from "zod";
import { isStrictEnvironment } from "../functions/core/runtime-env.ts";
import { instanceSizingProblems } from "../functions/core/instance-sizing.ts";
import { RETENTION_LIMITS, type RetentionDays } from "../functions/core/retention.ts";
import {
  DEAD_LETTER_RETENTION_DAYS,
  MAX_DELIVERY_ATTEMPTS,
  PROJECT_ID_RE,
  PUSHED_FUNCTION_TIMEOUT_SECONDS,
  RETRY_BACKOFF_SECONDS,
  retryBackoffProblems,
  type IntRange,
} from "../functions/core/platform-limits.ts";
import { TRIGGER_MODES, type TriggerMode } from "../functions/core/trigger-routing.ts";
import { formatIssues } from "../functions/core/zod-issues.ts";

export const PROJECT_NAMESPACE = "phase-orchestration";

/** Keys read as Pulumi secrets (config.requireSecret); never in stack files, never in plain outputs. */
export const SECRET_KEYS = ["slackAuthToken", "slackWebhookUrl"] as const;
/** Structured keys: JSON objects, so not declared with a type in Pulumi.yaml (its schema has no object type). */
export const STRUCTURED_KEYS = ["pipeline"] as const;

const text = z.string().min(1, "must not be empty");
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, "must be an integer")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`));
const intIn = (range: IntRange) => int(range.min, range.max);
const bool = z.enum(["true", "false"], "must be true or false").transform((v) => v === "true");
const json = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `must be a JSON object: ${(error as Error).message}` });
    return z.NEVER;
  }
});

// Keys are the full config keys ("namespace:key") so that every problem names what to `pulumi config set`.
const k = (key: string) => `${PROJECT_NAMESPACE}:${key}`;

const RawSchema = z.object({
  "gcp:project": z.string().regex(PROJECT_ID_RE, "must be a GCP project id"),
  "gcp:region": z.string().regex(/^[a-z]+-[a-z]+\d$/, "must be a GCP region like us-west2"),
  [k("environment")]: z.string().regex(/^[a-z][a-z0-9]{1,15}$/, "must be lowercase letters/digits (dev, staging, prod)"),
  [k("bigqueryDataset")]: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, "must be a BigQuery dataset id"),
  [k("bigqueryLocation")]: text,
  [k("deletionProtection")]: bool,
  [k("firestoreCollectionPrefix")]: z.string().regex(/^[A-Za-z0-9_]*$/, "letters, digits and _ only"),
  // "" = the stack's region; else a Firestore location: a region or the multi-regions nam5 / eur3.
  [k("firestoreLocation")]: z.string().regex(/^(|nam5|eur3|[a-z]+-[a-z]+\d+)$/, 'must be "" (the region), nam5, eur3 or a region like us-west2'),
  [k("repositoryUrl")]: z.url({ protocol: /^https$/, error: "must be an https URL of the repository" }),
  [k("repositoryRef")]: text,
  [k("slackErrorsChannel")]: z.string().regex(/^#[-a-z0-9_]+$/, "must be a Slack channel like #pipeline-errors"),
  [k("slackWarningsChannel")]: z.string().regex(/^#[-a-z0-9_]+$/, "must be a Slack channel like #pipeline-warnings"),
  [k("functionMemory")]: z.string().regex(/^\d+(Mi|Gi)$/, 'must be like "512Mi" or "1Gi"'),
  // "" = the CPU Cloud Functions derives from the memory; checked with memory and concurrency below.
  [k("functionCpu")]: z.string().regex(/^(|\d+(\.\d+)?)$/, 'must be "" (derived from the memory) or a CPU count like "1" or "0.5"'),
  [k("functionConcurrency")]: int(1, 1000),
  // The push subscription's ack deadline must cover the function timeout (platform-limits.ts).
  [k("functionTimeoutSeconds")]: intIn(PUSHED_FUNCTION_TIMEOUT_SECONDS),
  [k("functionMinInstances")]: int(0, 100),
  [k("functionMaxInstances")]: int(1, 1000),
  [k("pushMaxDeliveryAttempts")]: intIn(MAX_DELIVERY_ATTEMPTS),
  [k("pushMinimumBackoffSeconds")]: intIn(RETRY_BACKOFF_SECONDS),
  [k("pushMaximumBackoffSeconds")]: intIn(RETRY_BACKOFF_SECONDS),
  [k("deadLetterRetentionDays")]: intIn(DEAD_LETTER_RETENTION_DAYS),
  [k("retentionQuarantineDays")]: int(RETENTION_LIMITS.quarantine.min, RETENTION_LIMITS.quarantine.max),
  [k("retentionBookkeepingDays")]: int(RETENTION_LIMITS.bookkeeping.min, RETENTION_LIMITS.bookkeeping.max),
  [k("retentionPhaseStateDays")]: int(RETENTION_LIMITS.phaseState.min, RETENTION_LIMITS.phaseState.max),
  [k("alert5xxPerFiveMinutes")]: int(1, 100000),
  [k("alertUnackedAgeSeconds")]: int(60, 604800),
  [k("alertDualWriteFailuresPerHour")]: int(1, 100000),
  // Optional in dev only (checked below): the email channel of the alerts about Slack itself.
  [k("alertEmail")]: z.email({ error: "must be an email address like platform-oncall@example.com" }).optional(),
  [k("uptimeCheckPeriodSeconds")]: z.enum(["60", "300", "600", "900"], "must be 60, 300, 600 or 900"),
  [k("slackAuthToken")]: z.string().min(1, "missing secret: set it with `pulumi config set --secret slackAuthToken`"),
  [k("slackWebhookUrl")]: z.string().min(1, "missing secret: set it with `pulumi config set --secret slackWebhookUrl`"),
  [k("pipeline")]: json.optional(),
  [k("triggerMode")]: z.enum(TRIGGER_MODES, "must be live or shadow"),
});

/** Environments whose stacks must name an alertEmail (dev may go without: its alerts then fall back to Slack). */
export const ALERT_EMAIL_REQUIRED_IN: readonly string[] = ["staging", "prod"];

/** Every key the program reads (namespaced), for the plan tool and the Pulumi.yaml consistency test. */
export const ALL_CONFIG_KEYS: readonly string[] = Object.keys(RawSchema.shape);

export interface StackConfig {
  project: string;
  region: string;
  environment: string;
  bigquery: { datasetId: string; location: string; deletionProtection: boolean };
  firestoreCollectionPrefix: string;
  /** The (default) Firestore database: its location, and delete protection (with deletionProtection). */
  firestore: { location: string; deletionProtection: boolean };
  repository: { url: string; ref: string };
  slack: { errorsChannel: string; warningsChannel: string };
  functions: {
    memory: string;
    /** Explicit CPU per instance, or undefined: derived from the memory. */
    cpu: string | undefined;
    /** Requests one instance serves at once (maxInstanceRequestConcurrency). */
    concurrency: number;
    timeoutSeconds: number;
    minInstances: number;
    maxInstances: number;
  };
  push: { maxDeliveryAttempts: number; minimumBackoffSeconds: number; maximumBackoffSeconds: number; deadLetterRetentionDays: number };
  /** Days the Firestore documents the functions write are kept (their expire_at; TTL policies delete them). */
  retention: RetentionDays;
  alerts: { fiveXxPerFiveMinutes: number; unackedAgeSeconds: number; dualWriteFailuresPerHour: number; uptimePeriodSeconds: number; email: string | undefined };
  /** Per-stack overrides for loadPipeline, or undefined. */
  pipelineOverrides: unknown;
  /** live: triggers go to the live topics; shadow: to shadow topics, beside an existing orchestrator (functions/core/trigger-routing.ts). */
  triggerMode: TriggerMode;
}

export class StackConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration (${problems.length} problem(s)):\n  - ${problems.join("\n  - ")}`);
    this.name = "StackConfigError";
  }
}

/** Validate the raw config (full keys -> strings as the Pulumi runtime holds them); throws listing every problem. */
export function parseStackConfig(raw: Readonly<Record<string, string | undefined>>): StackConfig {
  const parsed = RawSchema.safeParse(raw, {
    error: (issue) => (issue.code === "invalid_type" && issue.input === undefined ? "required" : undefined),
  });
  if (!parsed.success) {
    throw new StackConfigError(formatIssues(parsed.error));
  }
  const v = parsed.data;
  const g = <T>(key: string): T => (v as Record<string, unknown>)[k(key)] as T;
  const problems: string[] = [];
  if (g<number>("functionMinInstances") > g<number>("functionMaxInstances")) {
    problems.push(`${k("functionMinInstances")}: must not exceed ${k("functionMaxInstances")}`);
  }
  // The ranges are checked above; what is left is the order (the minimum below the maximum).
  if (retryBackoffProblems(g<number>("pushMinimumBackoffSeconds"), g<number>("pushMaximumBackoffSeconds")).length > 0) {
    problems.push(`${k("pushMinimumBackoffSeconds")}: must be below ${k("pushMaximumBackoffSeconds")} (the backoff must grow)`);
  }
  const cpu = g<string>("functionCpu") === "" ? undefined : g<string>("functionCpu");
  for (const p of instanceSizingProblems({ memory: g("functionMemory"), cpu, concurrency: g("functionConcurrency") })) {
    problems.push(`${k("functionMemory")}/${k("functionCpu")}/${k("functionConcurrency")}: ${p}`);
  }
  // In the shared environments a blank webhook would deploy functions that can never alert (their
  // runtime refuses to start without one there too); dev may run without alerts.
  if (isStrictEnvironment(g<string>("environment")) && g<string>("slackWebhookUrl").trim() === "") {
    problems.push(`${k("slackWebhookUrl")}: required in ${g<string>("environment")}: a blank webhook means no alert is ever sent`);
  }
  if (ALERT_EMAIL_REQUIRED_IN.includes(g<string>("environment")) && g<string | undefined>("alertEmail") === undefined) {
    problems.push(`${k("alertEmail")}: required in ${g<string>("environment")}: the alerts about Slack itself (alert not delivered, phase stalled) notify this address`);
  }
  const overrides = g<unknown>("pipeline");
  if (overrides !== undefined && (typeof overrides !== "object" || overrides === null || Array.isArray(overrides))) {
    problems.push(`${k("pipeline")}: must be a JSON object of pipeline overrides`);
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  return {
    project: v["gcp:project"] as string,
    region: v["gcp:region"] as string,
    environment: g("environment"),
    bigquery: { datasetId: g("bigqueryDataset"), location: g("bigqueryLocation"), deletionProtection: g("deletionProtection") },
    firestoreCollectionPrefix: g("firestoreCollectionPrefix"),
    firestore: { location: g<string>("firestoreLocation") || (v["gcp:region"] as string), deletionProtection: g("deletionProtection") },
    repository: { url: g<string>("repositoryUrl").replace(/\/+$/, ""), ref: g("repositoryRef") },
    slack: { errorsChannel: g("slackErrorsChannel"), warningsChannel: g("slackWarningsChannel") },
    functions: {
      memory: g("functionMemory"),
      cpu,
      concurrency: g("functionConcurrency"),
      timeoutSeconds: g("functionTimeoutSeconds"),
      minInstances: g("functionMinInstances"),
      maxInstances: g("functionMaxInstances"),
    },
    push: {
      maxDeliveryAttempts: g("pushMaxDeliveryAttempts"),
      minimumBackoffSeconds: g("pushMinimumBackoffSeconds"),
      maximumBackoffSeconds: g("pushMaximumBackoffSeconds"),
      deadLetterRetentionDays: g("deadLetterRetentionDays"),
    },
    retention: { quarantine: g("retentionQuarantineDays"), bookkeeping: g("retentionBookkeepingDays"), phaseState: g("retentionPhaseStateDays") },
    alerts: {
      fiveXxPerFiveMinutes: g("alert5xxPerFiveMinutes"),
      unackedAgeSeconds: g("alertUnackedAgeSeconds"),
      dualWriteFailuresPerHour: g("alertDualWriteFailuresPerHour"),
      uptimePeriodSeconds: Number(g<string>("uptimeCheckPeriodSeconds")),
      email: g<string | undefined>("alertEmail"),
    },
    pipelineOverrides: overrides,
    triggerMode: g("triggerMode"),
  };
}

/** The runbook link of one alert: the repository's docs/runbooks/<file> at the configured ref. */
export function runbookUrl(config: Pick<StackConfig, "repository">, file: string): string {
  return `${config.repository.url}/blob/${config.repository.ref}/docs/runbooks/${file}`;
}

// Every name this program gives to anything is derived here, in one place: logical (Pulumi) names of
// children, physical (GCP) names, service-account ids, labels. Pure: no Pulumi,
// no I/O, so the rules and their limits are tested directly. The platform's limits themselves are
// functions/core/platform-limits.ts, shared with the pipeline model, the config and the policies.
import {
  bucketNameProblem,
  functionNameProblem,
  LABEL_VALUE_MAX,
  labelKeyProblem,
  labelValueProblem,
  pubsubNameProblem,
  SERVICE_ACCOUNT_ID_RE,
} from "../functions/core/platform-limits.ts";

export { LABEL_VALUE_MAX };
const RESOURCE_NAME_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export class NamingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NamingError";
  }
}

/** Logical name of a child: the parent's name, then the child's role. Unique because parents are. */
export function childLogicalName(parent: string, suffix: string): string {
  return `${parent}-${suffix}`;
}

/**
 * The `code-hash` label: the longest prefix of the sha256 hex digest a label value allows (63 of 64
 * characters, 252 bits). The full digest is in the object name and in CODE_HASH.
 */
export function codeHashLabel(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new NamingError(`not a sha256 hex digest: ${JSON.stringify(sha256)}`);
  return sha256.slice(0, LABEL_VALUE_MAX);
}

/** Check a label value; labels carry names we derive, so a bad one is a programming error. */
export function labelValue(value: string): string {
  const problem = labelValueProblem(value);
  if (problem !== null) throw new NamingError(problem);
  return value;
}

// Every stack is its own GCP project (gcp:project per stack file), so physical names are the same in
// every stack: the names of the existing system. Topic names in particular must equal the model's,
// because the functions publish to the names they read from PIPELINE_CONFIG.
export interface NamingContext {
  /** GCP project id (from the gcp:project config of the stack). */
  project: string;
  /** Environment label (dev, staging, prod). */
  environment: string;
  /**
   * Appended to every function (and scheduler job) name: "-shadow" in shadow mode, so ours run beside
   * the existing system's functions of the same model names until the switch.
   */
  functionNameSuffix?: string;
}

/** Physical names of one stack. */
export class Naming {
  constructor(readonly ctx: NamingContext) {}

  /** A Pub/Sub topic or subscription name (pubsubNameProblem). */
  pubsub(name: string): string {
    const problem = pubsubNameProblem(name);
    if (problem !== null) throw new NamingError(`invalid Pub/Sub name: ${problem}`);
    return name;
  }

  /** A Cloud Functions (2nd gen) / Cloud Run service name, with the stack's suffix (functionNameProblem). */
  functionName(modelName: string): string {
    const name = `${modelName}${this.ctx.functionNameSuffix ?? ""}`;
    const problem = functionNameProblem(name);
    if (problem !== null) throw new NamingError(problem);
    return name;
  }

  /** A service account id "<base>-<role>": 6..30 characters. `base` is short (a transition id or a function's short name). */
  serviceAccountId(base: string, role: "fn" | "push" | "sched" | "build"): string {
    const id = `${base}-${role}`;
    if (!SERVICE_ACCOUNT_ID_RE.test(id)) {
      throw new NamingError(`service account id ${JSON.stringify(id)} must match ${SERVICE_ACCOUNT_ID_RE} (6..30 characters)`);
    }
    return id;
  }

  /** A bucket name, globally unique through the project id: "<project>-<purpose>". */
  bucketName(purpose: string): string {
    const name = `${this.ctx.project}-${purpose}`;
    const problem = bucketNameProblem(name);
    if (problem !== null) throw new NamingError(problem);
    return name;
  }

  /** A Secret Manager secret id. */
  secretId(base: string): string {
    return this.checkedResourceName(base, 255, "secret id");
  }

  /** A log-based metric name (letters, digits, underscores). */
  logMetric(base: string): string {
    const name = base;
    if (!/^[A-Za-z0-9_]{1,100}$/.test(name)) throw new NamingError(`invalid log metric name ${JSON.stringify(name)}`);
    return name;
  }

  /** A human display name for alert policies, channels, checks and dashboards. */
  display(text: string): string {
    return `[${this.ctx.environment}] ${text}`;
  }

  /** Labels every labelled resource carries. */
  labels(extra: Record<string, string> = {}): Record<string, string> {
    const all: Record<string, string> = {
      app: "phase-orchestration",
      environment: this.ctx.environment,
      "managed-by": "pulumi",
      ...extra,
    };
    for (const [key, value] of Object.entries(all)) {
      const problem = labelKeyProblem(key);
      if (problem !== null) throw new NamingError(problem);
      labelValue(value);
    }
    return all;
  }

  private checkedResourceName(name: string, max: number, what: string): string {
    if (name.length > max || !RESOURCE_NAME_RE.test(name)) {
      throw new NamingError(`${what} ${JSON.stringify(name)} must be lowercase letters, digits and '-', at most ${max} characters`);
    }
    return name;
  }
}

/** The push subscription of a transition's input topic: derived in the model, which checks it. */
export { pushSubscriptionName } from "../functions/core/pipeline.ts";

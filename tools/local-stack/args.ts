// Command-line flags of `npm start` (pure).
import { defineCommand } from "../cli/command.ts";
import { UsageError } from "../cli/errors.ts";
import { DISAGREE_KINDS, parseDisagreement, type Disagreement } from "./disagreement.ts";

export const FAULT_NAMES = ["firestore-down", "bigquery-down", "pubsub-publish", "slack-down", "crash-before-publish", "malformed"] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export const MAX_DATES = 14;
/** Instances per function: each is a Node process, and the machine runs every function's. */
export const MAX_INSTANCES = 8;

export interface CliOptions {
  stack: string;
  dates: number;
  /** Instances of every function behind its front proxy. */
  instances: number;
  faults: FaultName[];
  /** A shadow game day: the stack evaluated with triggerMode: shadow beside a simulated existing orchestrator. */
  shadow: boolean;
  /** Where the simulated existing system differs on purpose (implies shadow); transitions checked against the stack later. */
  shadowDisagree: Disagreement[];
  keepRunning: boolean;
  json: boolean;
  help: boolean;
}

export { UsageError };

export const START_COMMAND = defineCommand({
  tool: "start",
  synopsis: "npm start -- [--stack <name>] [--dates <N>] [--instances <N>] [--fault <name>]... [--shadow] [--shadow-disagree <transition>[:<how>]]... [--keep-running] [--json]",
  summary: `Evaluates the Pulumi program for a stack offline and provisions what it declares onto local parts:
topics and subscriptions (push endpoints, ack deadline, retry backoff, dead-letter policy as declared)
on the Pub/Sub emulator, Firestore on its emulator, the BigQuery dataset and tables in the local
BigQuery fake, every declared function served by the functions framework from the same archive the
program uploads (with the environment it declares; secrets replaced by local values), and a local
Slack sink that prints alerts. Then it replays a game day through every phase and prints a report.`,
  options: {
    stack: { type: "string", value: "<name>", description: "stack to evaluate (default dev; any Pulumi.<name>.yaml)" },
    dates: { type: "string", value: "<N>", description: `game dates to run at once (default 1, at most ${MAX_DATES}): yesterday and the days before` },
    instances: {
      type: "string",
      value: "<N>",
      description: `instances of every function (default 1, at most ${MAX_INSTANCES}); its front proxy spreads requests
over them, least busy first, each serving as many at once as the stack's functionConcurrency
(one at a time by default: a request waits at the proxy until an instance is free, as at
Cloud Run's front end), so a burst on one date lands on several instances as in the cloud`,
    },
    fault: {
      type: "string",
      value: "<name>",
      multiple: true,
      description: `inject a fault for a window, then heal it (repeatable):
  firestore-down        the functions' path to Firestore refuses connections
  bigquery-down         the BigQuery fake stops listening
  pubsub-publish        the functions' path to Pub/Sub refuses (publishing triggers fails;
                        push deliveries still arrive)
  slack-down            the Slack sink answers 503 (alert probes are published)
  crash-before-publish  the phase 2 orchestrator is killed after its trigger is marked
                        pending and before the publish completes, then restarted
  malformed             malformed and unknown-processor messages are published
                        (expected: quarantined, no dead letters, no effect on triggering)`,
    },
    shadow: {
      type: "boolean",
      description: `a cutover game day: the program evaluated with triggerMode: shadow (functions <name>-shadow
publishing to <topic>-shadow, a <topic>-tap on each live trigger topic), beside a simulated
existing orchestrator that publishes the live triggers the processors act on (same decision
rules). Ends with the shadow report (npm run shadow:report) read from the local emulators`,
    },
    "shadow-disagree": {
      type: "string",
      value: "<transition>[:<how>]",
      multiple: true,
      description: `(implies --shadow; repeatable) the simulated existing system differs on purpose, <how>:
  skip   (default) it never triggers the transition: the report says only ours
  early  it triggers on the first completion and the phase is sent short, so ours never
         does: only the existing system
  field  it changes a field the downstream reader reads (not for phase 3's trigger, whose
         reader reads only game_date): a field difference`,
    },
    "keep-running": { type: "boolean", description: "leave everything up afterwards and print the local URLs and emulator hosts (Ctrl-C stops)" },
    json: {
      type: "boolean",
      description: `one JSON document on stdout: {"ok", "stack", "dates", "triggers": [{"transition",
"gameDate", "count"}], "completions": {"published", "firestore", "bigquery"},
"deadLettered", "quarantined", "alerts", "faults", ..., "shadow" with --shadow: {"source",
"agree", "rows": [{"transitionId", "gameDate", "outcome", "differences", ...}]}}; progress
goes to stderr`,
    },
  },
  notes: `Exit codes: 0 every transition triggered exactly once per date and nothing was lost (with --shadow: and
the shadow report agrees); 1 the run failed, the shadow report differs, or a wiring mistake in the
program; 2 usage error, unknown stack, or gcloud/Java missing.
Pushes carry no OIDC token locally (the emulator does not mint them) and nothing verifies one.`,
});

export const USAGE = START_COMMAND.help;

export function parseCliArgs(argv: readonly string[]): CliOptions {
  const values = START_COMMAND.parse(argv);
  const stack = values.stack ?? "dev";
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name`);
  const datesRaw = values.dates ?? "1";
  const dates = Number(datesRaw);
  if (!/^\d+$/.test(datesRaw) || dates < 1 || dates > MAX_DATES) throw new UsageError(`--dates must be a whole number 1..${MAX_DATES}, got ${JSON.stringify(datesRaw)}`);
  const instancesRaw = values.instances ?? "1";
  const instances = Number(instancesRaw);
  if (!/^\d+$/.test(instancesRaw) || instances < 1 || instances > MAX_INSTANCES) {
    throw new UsageError(`--instances must be a whole number 1..${MAX_INSTANCES}, got ${JSON.stringify(instancesRaw)}`);
  }
  const faults: FaultName[] = [];
  for (const f of values.fault) {
    if (!(FAULT_NAMES as readonly string[]).includes(f)) throw new UsageError(`unknown fault ${JSON.stringify(f)}; known: ${FAULT_NAMES.join(", ")}`);
    if (!faults.includes(f as FaultName)) faults.push(f as FaultName);
  }
  const shadowDisagree: Disagreement[] = [];
  for (const spec of values["shadow-disagree"]) {
    let d: Disagreement;
    try {
      d = parseDisagreement(spec);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (shadowDisagree.some((x) => x.transitionId === d.transitionId)) throw new UsageError(`--shadow-disagree: ${d.transitionId} given twice (one of ${DISAGREE_KINDS.join(", ")} per transition)`);
    shadowDisagree.push(d);
  }
  return {
    stack,
    dates,
    instances,
    faults,
    shadow: values.shadow || shadowDisagree.length > 0,
    shadowDisagree,
    keepRunning: values["keep-running"],
    json: values.json,
    help: values.help,
  };
}

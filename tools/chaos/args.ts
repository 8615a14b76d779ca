// Command-line flags of `npm run chaos` (pure).
import { defineCommand } from "../cli/command.ts";
import { UsageError } from "../cli/errors.ts";
import { MAX_SEED } from "./prng.ts";

export const MAX_DATES = 14;
export const MAX_INSTANCES = 8;
export const MAX_MINUTES = 60;

export interface ChaosOptions {
  seed: number;
  /** Whether --seed was given (a drawn seed is printed so the run can be replayed). */
  seedGiven: boolean;
  dates: number;
  instances: number;
  minutes: number;
  stack: string;
  json: boolean;
  /** Where to write every function log line when the run ends (--logs), or null. */
  logsFile: string | null;
  help: boolean;
}

export { UsageError };

export const CHAOS_COMMAND = defineCommand({
  tool: "chaos",
  synopsis: "npm run chaos -- [--seed <N>] [--dates <D>] [--instances <K>] [--minutes <M>] [--stack <name>] [--json] [--logs <file>]",
  summary: `Starts the local stack as npm start does (the same program, archives, emulators and BigQuery fake),
replays game dates through every phase while a fault schedule drawn from the seed breaks the
Firestore path, BigQuery, the Pub/Sub publish path, Slack and function instances, overlapping; then
heals everything, waits for the declared recovery (redelivery backoff, sweeper, reconciler) and checks
the invariants: nothing lost or recorded twice, one trigger per transition and date, no valid message
dead-lettered and every bad one quarantined and alerted, nothing left pending, the BigQuery tables
agreeing with Firestore, every fault recovered or alerted.`,
  options: {
    seed: { type: "string", value: "<N>", description: `the schedule's seed, 0..${MAX_SEED} (default: drawn at random and printed)` },
    dates: { type: "string", value: "<D>", description: `game dates replayed (default 10, at most ${MAX_DATES})` },
    instances: { type: "string", value: "<K>", description: `instances of every function behind its front proxy (default 2, at most ${MAX_INSTANCES})` },
    minutes: { type: "string", value: "<M>", description: `how long faults are injected, in minutes, decimals allowed (default 3, 0.25..${MAX_MINUTES})` },
    stack: { type: "string", value: "<name>", description: "stack to evaluate (default dev)" },
    logs: {
      type: "string",
      value: "<file>",
      description: `when the run ends, write every log line of every function instance (all severities, crashed
instances included) to <file>, one JSON object per line with "function" and "instance" added; the
report keeps WARNING and worse only`,
    },
    json: {
      type: "boolean",
      description: `one JSON document on stdout: {"ok", "seed", "dates", "instances", "faults",
"invariants": [{"name", "ok", "detail"}], "duplicates", "replay"}; progress goes to stderr`,
    },
  },
  notes: `The same seed gives the same schedule (timing jitter aside); the report ends with the command that
replays it. Exit codes: 0 every invariant holds; 1 one breaks (or the stack failed); 2 usage error,
unknown stack, or gcloud/Java missing. docs/CHAOS.md explains each fault and how to read a failure.`,
});

export const USAGE = CHAOS_COMMAND.help;

function wholeNumber(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new UsageError(`${flag} must be a whole number ${min}..${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseChaosArgs(argv: readonly string[], drawSeed: () => number): ChaosOptions {
  const values = CHAOS_COMMAND.parse(argv);
  const stack = values.stack ?? "dev";
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name`);
  const minutesRaw = values.minutes ?? "3";
  const minutes = Number(minutesRaw);
  if (!/^\d+(\.\d+)?$/.test(minutesRaw) || minutes < 0.25 || minutes > MAX_MINUTES) throw new UsageError(`--minutes must be a number 0.25..${MAX_MINUTES}, got ${JSON.stringify(minutesRaw)}`);
  return {
    seed: values.seed === undefined ? drawSeed() : wholeNumber(values.seed, "--seed", 0, MAX_SEED),
    seedGiven: values.seed !== undefined,
    dates: wholeNumber(values.dates ?? "10", "--dates", 1, MAX_DATES),
    instances: wholeNumber(values.instances ?? "2", "--instances", 1, MAX_INSTANCES),
    minutes,
    stack,
    json: values.json,
    logsFile: values.logs === undefined ? null : nonEmpty(values.logs, "--logs"),
    help: values.help,
  };
}

function nonEmpty(raw: string, flag: string): string {
  if (raw.trim() === "") throw new UsageError(`${flag} needs a file name`);
  return raw;
}

/** The exact command that replays a run. */
export function replayCommand(o: Pick<ChaosOptions, "seed" | "dates" | "instances" | "minutes" | "stack">): string {
  return `npm run chaos -- --seed ${o.seed} --dates ${o.dates} --instances ${o.instances} --minutes ${o.minutes} --stack ${o.stack}`;
}

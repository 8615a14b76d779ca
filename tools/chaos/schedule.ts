// The chaos schedule, drawn from a seed (pure): which dependency is faulty when, which instance is
// killed when, and when malformed or unknown-processor messages are published. Same seed and same
// shape (duration, functions, instances) -> the same schedule.
//
// Each dependency (Firestore path, BigQuery, Pub/Sub publish path, Slack) is faulty for 15-25 % of
// the run, in one to three windows at random places; dependencies are drawn independently, so their
// windows overlap freely. Crashes are instants (a SIGKILL and a restart), about one per 45 s.
import { createRng, type Rng } from "./prng.ts";

export type Dependency = "firestore" | "bigquery" | "pubsub" | "slack" | "instance";

export const FAULT_KINDS = {
  firestore: ["firestore-refused", "firestore-stalled"],
  bigquery: ["bigquery-down", "bigquery-503", "bigquery-429", "bigquery-dml-limit"],
  pubsub: ["pubsub-publish-refused"],
  slack: ["slack-down", "slack-429"],
  instance: ["crash", "crash-before-publish"],
} as const;

export type FaultKind = (typeof FAULT_KINDS)[keyof typeof FAULT_KINDS][number];

export const WINDOWED_DEPENDENCIES = ["firestore", "bigquery", "pubsub", "slack"] as const;

export interface FaultWindow {
  fault: FaultKind;
  dependency: Dependency;
  /** What the fault acts on: a path, the fake, the webhook, or a function instance (`name#i`, `name#*` for every instance). */
  target: string;
  /** Milliseconds after the run started. */
  fromMs: number;
  /** When it is healed (a crash: the latest moment of the kill, the restart follows at once). */
  toMs: number;
}

export type InputKind = "not-json" | "contract-violation" | "unknown-processor";

export interface InputEvent {
  atMs: number;
  kind: InputKind;
  /** Transition whose input topic gets the message. */
  transition: string;
}

export interface ScheduleShape {
  seed: number;
  durationMs: number;
  /** Deployed orchestrator names, in a fixed order. */
  orchestrators: readonly string[];
  /** Deployed names of the scheduled jobs (sweeper, reconciler). */
  scheduled: readonly string[];
  instances: number;
  /** Transition ids (malformed input goes to their input topics). */
  transitions: readonly string[];
  dates: number;
}

export interface ChaosSchedule {
  seed: number;
  durationMs: number;
  faults: FaultWindow[];
  inputs: InputEvent[];
  /** When each game date's first phase starts publishing (index = date). */
  dateStartsMs: number[];
}

/** Fraction of the run each dependency is faulty for. */
export const FAULTY_FRACTION = { min: 0.15, max: 0.25 } as const;
/** No dependency window is shorter (shorter ones end before a retry could notice them). */
export const MIN_WINDOW_MS = 3000;
/** Crash-before-publish waits this long at most for a pending trigger before it kills anyway. */
export const PENDING_WAIT_MS = 30_000;
const CRASH_EVERY_MS = 45_000;

function dependencyWindows(rng: Rng, dependency: (typeof WINDOWED_DEPENDENCIES)[number], durationMs: number): FaultWindow[] {
  const total = Math.round(durationMs * rng.between(FAULTY_FRACTION.min, FAULTY_FRACTION.max));
  const count = Math.max(1, Math.min(rng.int(1, 3), Math.floor(total / MIN_WINDOW_MS)));
  // Split the faulty time into `count` windows (each at least MIN_WINDOW_MS when possible) and the
  // healthy time into count + 1 gaps around them.
  const spare = Math.max(0, total - count * MIN_WINDOW_MS);
  const lengthWeights = Array.from({ length: count }, () => rng.next() + 0.05);
  const lw = lengthWeights.reduce((a, b) => a + b, 0);
  const lengths = lengthWeights.map((w) => Math.min(total, MIN_WINDOW_MS) + Math.floor((spare * w) / lw));
  const used = lengths.reduce((a, b) => a + b, 0);
  const healthy = Math.max(0, durationMs - used);
  const gapWeights = Array.from({ length: count + 1 }, () => rng.next() + 0.05);
  const gw = gapWeights.reduce((a, b) => a + b, 0);
  const gaps = gapWeights.map((w) => Math.floor((healthy * w) / gw));
  const windows: FaultWindow[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += gaps[i]!;
    const fault = rng.pick(FAULT_KINDS[dependency]);
    windows.push({ fault, dependency, target: targetOf(dependency), fromMs: at, toMs: at + lengths[i]! });
    at += lengths[i]!;
  }
  return windows;
}

function targetOf(dependency: (typeof WINDOWED_DEPENDENCIES)[number]): string {
  switch (dependency) {
    case "firestore":
      return "the functions' path to Firestore";
    case "bigquery":
      return "the BigQuery fake";
    case "pubsub":
      return "every function's path to Pub/Sub (publishing)";
    case "slack":
      return "the Slack webhook";
  }
}

function crashes(rng: Rng, s: ScheduleShape): FaultWindow[] {
  const count = Math.max(1, Math.round(s.durationMs / CRASH_EVERY_MS));
  const latest = Math.max(0, s.durationMs - 5000);
  const out: FaultWindow[] = [];
  for (let i = 0; i < count; i++) {
    const fromMs = Math.floor(rng.between(0.05, 1) * latest);
    if (rng.chance(0.5) && s.orchestrators.length > 0) {
      const fn = rng.pick(s.orchestrators);
      out.push({ fault: "crash-before-publish", dependency: "instance", target: `${fn}#*`, fromMs, toMs: Math.max(fromMs + 1000, Math.min(fromMs + PENDING_WAIT_MS, s.durationMs)) });
    } else {
      const fn = rng.pick([...s.orchestrators, ...s.scheduled]);
      const instance = rng.int(0, Math.max(0, s.instances - 1));
      out.push({ fault: "crash", dependency: "instance", target: `${fn}#${instance}`, fromMs, toMs: fromMs + rng.int(500, 3000) });
    }
  }
  return out;
}

function inputs(rng: Rng, s: ScheduleShape): InputEvent[] {
  const count = Math.max(3, Math.round(s.durationMs / 30_000));
  const kinds: InputKind[] = ["not-json", "contract-violation", "unknown-processor"];
  // Every kind at least once, then random ones.
  const chosen = [...kinds, ...Array.from({ length: count - kinds.length }, () => rng.pick(kinds))];
  return chosen
    .map((kind) => ({ atMs: Math.floor(rng.between(0, 0.9) * s.durationMs), kind, transition: rng.pick(s.transitions) }))
    .sort((a, b) => a.atMs - b.atMs);
}

export function drawSchedule(s: ScheduleShape): ChaosSchedule {
  if (!Number.isInteger(s.seed) || s.seed < 0) throw new Error(`seed must be a whole number >= 0, got ${s.seed}`);
  if (s.transitions.length === 0) throw new Error("no transitions to drive");
  // One sub-stream per concern: adding a function or a date does not move the dependency windows.
  const faults = [
    ...WINDOWED_DEPENDENCIES.flatMap((d) => dependencyWindows(createRng(s.seed, "dependency", d), d, s.durationMs)),
    ...crashes(createRng(s.seed, "crashes"), s),
  ].sort((a, b) => a.fromMs - b.fromMs || a.dependency.localeCompare(b.dependency));
  const starts = createRng(s.seed, "dates");
  // Dates start during the first 40 % of the run, so every phase of every date meets some fault.
  const dateStartsMs = Array.from({ length: s.dates }, (_, i) => (i === 0 ? 0 : Math.floor(starts.between(0, 0.4) * s.durationMs)));
  return { seed: s.seed, durationMs: s.durationMs, faults, inputs: inputs(createRng(s.seed, "inputs"), s), dateStartsMs };
}

/** Milliseconds a dependency is faulty in a schedule (its windows never overlap each other). */
export function faultyMs(schedule: ChaosSchedule, dependency: Dependency): number {
  return schedule.faults.filter((f) => f.dependency === dependency).reduce((n, f) => n + (f.toMs - f.fromMs), 0);
}

/** Windows of different dependencies that are active at the same moment. */
export function overlaps(schedule: ChaosSchedule): [FaultWindow, FaultWindow][] {
  const windows = schedule.faults.filter((f) => f.dependency !== "instance");
  const out: [FaultWindow, FaultWindow][] = [];
  for (let i = 0; i < windows.length; i++) {
    for (let j = i + 1; j < windows.length; j++) {
      const a = windows[i]!;
      const b = windows[j]!;
      if (a.dependency !== b.dependency && a.fromMs < b.toMs && b.fromMs < a.toMs) out.push([a, b]);
    }
  }
  return out;
}

export interface PhasePublication {
  processor: string;
  /** After the phase's trigger (or the date's start) arrived. */
  delayMs: number;
  /** Extra copies of the same bytes (a processor retrying its publish), each with its own delay. */
  copyDelaysMs: number[];
}

/**
 * When each processor of one phase and date publishes: random moments over a few seconds, in any
 * order, a quarter of them twice (sometimes long after the others, i.e. out of order).
 */
export function phasePublications(seed: number, transition: string, date: string, processors: readonly string[]): PhasePublication[] {
  const rng = createRng(seed, "phase", transition, date);
  return processors.map((processor) => ({
    processor,
    delayMs: rng.int(0, 8000),
    copyDelaysMs: rng.chance(0.25) ? [rng.int(200, 20_000)] : [],
  }));
}

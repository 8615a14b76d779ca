// Command-line options of `npm run bench`: one option table (tools/cli) gives the parser and --help.
// Pure: parses argv, no I/O, nothing heavy imported.
import { defineCommand } from "../tools/cli/command.ts";
import { UsageError } from "../tools/cli/errors.ts";

export const SECTIONS = ["cold", "latency", "contention", "operations", "bursts"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  json: boolean;
  /** Fresh Node processes per cold-start variant (the median is reported). */
  runs: number;
  /** Sequential completions measured for handler latency (5 per game date). */
  latencyDates: number;
  /** End-to-end samples (one per game date) through the Pub/Sub emulator's push. */
  e2eDates: number;
  /** Floor samples (bare transaction + bare publish). */
  floorSamples: number;
  /** Completions of one date arriving at once. */
  contentionSizes: number[];
  /** Dates arriving at once (5 completions each). */
  contentionDates: number[];
  sections: Section[];
  /** Cold start: also measure the scheduled functions (load only). */
  coldScheduled: boolean;
  /** Cold start: only the first orchestrator's deployed bundle (no other variants or functions). */
  coldSmoke: boolean;
  /** Bursts: instances of every function on the local stack. */
  burstInstances: number;
  /** Bursts: dates of the backfill burst (every phase of each at once). */
  burstDates: number;
  /** Bursts: dates posted one after another for the serialized floor. */
  burstFloorDates: number;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  json: false,
  runs: 5,
  latencyDates: 30,
  e2eDates: 15,
  floorSamples: 200,
  contentionSizes: [5, 20, 100],
  contentionDates: [10],
  sections: [...SECTIONS],
  coldScheduled: true,
  coldSmoke: false,
  burstInstances: 3,
  burstDates: 30,
  burstFloorDates: 2,
};

/** --quick: every section in a tiny configuration (the smoke test's; numbers are not meaningful). */
export const QUICK_OPTIONS: Omit<BenchOptions, "json" | "sections"> = {
  runs: 1,
  latencyDates: 2,
  e2eDates: 1,
  floorSamples: 5,
  contentionSizes: [3],
  contentionDates: [2],
  coldScheduled: false,
  coldSmoke: true,
  burstInstances: 2,
  burstDates: 2,
  burstFloorDates: 1,
};

export { UsageError };

export const BENCH_COMMAND = defineCommand({
  tool: "bench",
  synopsis: `npm run bench -- [--json] [--quick] [--runs <N>] [--only <sections>] [<section flags>]`,
  summary: `The benchmarks: cold start, event latency, cloud operations per completion, contention, and bursts
across instances on the local stack. Starts its own emulators and BigQuery fake (and stops them, also on
Ctrl-C) and prints tables, or one JSON document with --json; progress goes to stderr.`,
  options: {
    json: { type: "boolean", description: "print one JSON document (BenchReport, bench/report.ts) instead of tables" },
    quick: { type: "boolean", description: "tiny configuration (minutes of work; for the smoke test, not for numbers);\nexplicit flags win over it" },
    runs: { type: "string", value: "<N>", description: `fresh processes per cold-start variant (median reported; default ${DEFAULT_OPTIONS.runs})` },
    only: { type: "string", value: "<sections>", description: `sections to run, comma-separated: ${SECTIONS.join(", ")} (default: all)` },
    "latency-dates": { type: "string", value: "<N>", description: `latency: sequential game dates measured in the handler, 5 completions each (default ${DEFAULT_OPTIONS.latencyDates})` },
    "e2e-dates": { type: "string", value: "<N>", description: `latency: end-to-end samples through the Pub/Sub emulator's push (default ${DEFAULT_OPTIONS.e2eDates})` },
    "floor-samples": { type: "string", value: "<N>", description: `latency: bare transaction and bare publish samples (default ${DEFAULT_OPTIONS.floorSamples})` },
    sizes: { type: "string", value: "<list>", description: `contention: completions of one date arriving at once (default ${DEFAULT_OPTIONS.contentionSizes.join(",")})` },
    dates: { type: "string", value: "<list>", description: `contention: dates arriving at once, 5 completions each (default ${DEFAULT_OPTIONS.contentionDates.join(",")})` },
    instances: { type: "string", value: "<N>", description: `bursts: instances of every function on the local stack (default ${DEFAULT_OPTIONS.burstInstances})` },
    "backfill-dates": { type: "string", value: "<N>", description: `bursts: dates of the backfill, every phase of each at once (default ${DEFAULT_OPTIONS.burstDates})` },
  },
  notes: `Exit codes: 0 the report was printed; 1 the bench failed; 2 usage error. docs/BENCHMARKS.md explains
the method and the results.`,
});

export const USAGE = BENCH_COMMAND.help;

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

function intList(name: string, raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new UsageError(`--${name} must list positive integers, got "${raw}"`);
  return parts.map((p) => positiveInt(name, p));
}

/** Throws UsageError for an unknown flag, a missing value, a positional argument or a bad value. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions & { help: boolean; quick: boolean } {
  const values = BENCH_COMMAND.parse(argv);
  const base = values.quick ? { ...DEFAULT_OPTIONS, ...QUICK_OPTIONS } : { ...DEFAULT_OPTIONS };
  const sections = values.only === undefined ? base.sections : values.only.split(",").map((s) => s.trim());
  for (const s of sections) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new UsageError(`--only: unknown section "${s}" (known: ${SECTIONS.join(", ")})`);
  }
  return {
    ...base,
    help: values.help,
    quick: values.quick,
    json: values.json,
    sections: sections as Section[],
    ...(values.runs === undefined ? {} : { runs: positiveInt("runs", values.runs) }),
    ...(values["latency-dates"] === undefined ? {} : { latencyDates: positiveInt("latency-dates", values["latency-dates"]) }),
    ...(values["e2e-dates"] === undefined ? {} : { e2eDates: positiveInt("e2e-dates", values["e2e-dates"]) }),
    ...(values["floor-samples"] === undefined ? {} : { floorSamples: positiveInt("floor-samples", values["floor-samples"]) }),
    ...(values.sizes === undefined ? {} : { contentionSizes: intList("sizes", values.sizes) }),
    ...(values.dates === undefined ? {} : { contentionDates: intList("dates", values.dates) }),
    ...(values.instances === undefined ? {} : { burstInstances: positiveInt("instances", values.instances) }),
    ...(values["backfill-dates"] === undefined ? {} : { burstDates: positiveInt("backfill-dates", values["backfill-dates"]) }),
  };
}

// `npm run bench [-- --json] [--quick] [--runs N] [--only ...]`: the benchmarks. Starts its own
// emulators and BigQuery fake (and stops them, also on Ctrl-C), runs the sections in an order that keeps
// the cold starts away from the load of the others (contention last: a cut-off burst leaves work behind),
// and prints tables, or one JSON document with --json. Method and results: docs/BENCHMARKS.md.
// Only the argument parser is imported statically: --help and a usage error answer at once; the
// emulators, Google clients and measurement code load after parsing.
import os from "node:os";
import { runCli } from "../tools/cli/main.ts";
import { BENCH_COMMAND, parseBenchArgs } from "./options.ts";
import type { BenchReport } from "./report.ts";

/** A burst that has not settled by then is cut off (reported as undelivered). */
const CONTENTION_CAP_MS = { quick: 20_000, full: 30_000 };
/** A burst across instances that has not triggered every (transition, date) by then is cut off. */
const BURST_CAP_MS = { quick: 180_000, full: 420_000 };

async function main(argv: string[]): Promise<number> {
  // A usage error is thrown to runCli: `bench: usage error: ...`, exit 2.
  const options = parseBenchArgs(argv);
  if (options.help) {
    process.stdout.write(BENCH_COMMAND.help);
    return 0;
  }
  const [
    { loadPipeline },
    { measureColdStarts },
    { measureContention },
    { startBenchEnvironment },
    { installInstrumentation },
    { measureLatency },
    { measureOperations },
    { renderReport },
    { machineFacts },
    { judgeTargets },
  ] = await Promise.all([
    import("../functions/core/pipeline.ts"),
    import("./cold-start.ts"),
    import("./contention.ts"),
    import("./environment.ts"),
    import("./instrument.ts"),
    import("./latency.ts"),
    import("./operations.ts"),
    import("./render.ts"),
    import("./report.ts"),
    import("./targets.ts"),
  ]);
  const quick = options.quick;
  const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
  const startedAt = new Date();
  const loadStart = os.loadavg();
  const started = performance.now();
  progress("starting the Firestore and Pub/Sub emulators and the BigQuery fake");
  const env = await startBenchEnvironment();
  const report: Omit<BenchReport, "machine" | "durationMs"> = { startedAt: startedAt.toISOString(), options };
  try {
    const instrumentation = installInstrumentation(env.bq);
    instrumentation.watchTopics(loadPipeline().transitions.map((t) => t.outputTopicName));
    if (options.sections.includes("cold")) {
      progress(`cold starts (${options.runs} runs per variant)`);
      report.coldStart = await measureColdStarts(env, { runs: options.runs, includeScheduled: options.coldScheduled, smoke: options.coldSmoke });
    }
    if (options.sections.includes("latency")) {
      progress(`event latency (${options.latencyDates} dates, ${options.e2eDates} end-to-end, ${options.floorSamples} floor samples)`);
      report.latency = await measureLatency(env, instrumentation, { dates: options.latencyDates, e2eDates: options.e2eDates, floorSamples: options.floorSamples });
    }
    if (options.sections.includes("operations")) {
      progress("cloud operations over a game day");
      report.operations = await measureOperations(env, instrumentation);
    }
    if (options.sections.includes("contention")) {
      progress(`contention (N = ${options.contentionSizes.join(", ")}; M = ${options.contentionDates.join(", ")} dates)`);
      report.contention = await measureContention(env, instrumentation, {
        sizes: options.contentionSizes,
        dates: options.contentionDates,
        capMs: quick ? CONTENTION_CAP_MS.quick : CONTENTION_CAP_MS.full,
      });
    }
  } finally {
    progress("stopping the emulators");
    await env.stop();
  }
  if (options.sections.includes("bursts")) {
    // On the local stack, with emulators of its own: after the others' are stopped, so the two sets
    // do not share the machine.
    progress(`bursts across ${options.burstInstances} instances per function (one date; a backfill of ${options.burstDates} dates)`);
    const { measureBursts } = await import("./bursts.ts");
    report.bursts = await measureBursts({
      instances: options.burstInstances,
      backfillDates: options.burstDates,
      floorDates: options.burstFloorDates,
      capMs: quick ? BURST_CAP_MS.quick : BURST_CAP_MS.full,
      log: progress,
    });
  }
  const measured: BenchReport = { ...report, machine: machineFacts(loadStart), durationMs: performance.now() - started };
  const full: BenchReport = { ...measured, targets: judgeTargets(measured) };
  process.stdout.write(options.json ? `${JSON.stringify(full, null, 2)}\n` : `${renderReport(full)}\n`);
  return 0;
}

process.exitCode = await runCli(process.argv.slice(2), { tool: BENCH_COMMAND.tool, synopsis: BENCH_COMMAND.synopsis, failureExitCode: 1 }, main);
// Open handles of the Google clients and emulator children must not keep a finished run alive.
process.exit();

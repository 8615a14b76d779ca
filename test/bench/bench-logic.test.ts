// The bench's pure parts: statistics, argument parsing, the cost model, the redelivery backoff and the
// synthetic pipeline of the contention runs.
import assert from "node:assert/strict";
import fc from "fast-check";
import { median, quantile, ratio, summarize } from "../../bench/stats.ts";
import { BENCH_COMMAND, DEFAULT_OPTIONS, parseBenchArgs, UsageError } from "../../bench/options.ts";
import { costOf, costShares, LEGACY_PER_COMPLETION, legacyOperations, NO_OPERATIONS, PRICES, withMergePerCompletion } from "../../bench/cost-model.ts";
import { judgeTargets, missingJsonPaths, REPORT_JSON_PATHS } from "../../bench/targets.ts";
import { breakdownOf } from "../../bench/breakdown.ts";
import type { BenchReport } from "../../bench/report.ts";
import { pipelineWithPhase2Processors, REDELIVERY_MAX_MS, REDELIVERY_MIN_MS, redeliveryDelayMs } from "../../bench/contention.ts";
import { parsePipelineConfig, resolvePipeline, transitionById } from "../../functions/core/pipeline.ts";
import { diffCounts, transactionRetries, ZERO_COUNTS } from "../../bench/instrument.ts";

describe("bench: statistics", () => {
  it("nearest-rank quantiles: p50 of 1..100 is 50, p99 is 99, p95 of 20 samples is the 19th", () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(quantile(xs, 0.5), 50);
    assert.equal(quantile(xs, 0.99), 99);
    assert.equal(quantile(Array.from({ length: 20 }, (_, i) => i + 1), 0.95), 19);
  });
  it("quantiles stay within the samples and are monotone in q", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 50 }), (xs) => {
        const s = summarize(xs);
        assert.ok(s.min <= s.p50 && s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max);
        assert.ok(xs.includes(s.p50) && xs.includes(s.p99));
      }),
    );
  });
  it("median averages the middle pair; empty input is NaN, not 0", () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.ok(Number.isNaN(summarize([]).p50));
  });
  it("a ratio to a zero or missing floor is null", () => {
    assert.equal(ratio(10, 4), 2.5);
    assert.equal(ratio(10, 0), null);
    assert.equal(ratio(Number.NaN, 3), null);
  });
});

describe("bench: arguments", () => {
  it("defaults cover the issue's sizes", () => {
    const o = parseBenchArgs([]);
    assert.deepEqual(o.contentionSizes, [5, 20, 100]);
    assert.equal(o.json, false);
    assert.deepEqual(o.sections, DEFAULT_OPTIONS.sections);
  });
  it("--quick shrinks every section; explicit flags win over it", () => {
    const o = parseBenchArgs(["--quick", "--runs", "3", "--json"]);
    assert.equal(o.runs, 3);
    assert.equal(o.json, true);
    assert.equal(o.coldSmoke, true);
    assert.ok(o.latencyDates < DEFAULT_OPTIONS.latencyDates);
  });
  it("rejects bad numbers and unknown sections", () => {
    assert.throws(() => parseBenchArgs(["--runs", "0"]), UsageError);
    assert.throws(() => parseBenchArgs(["--sizes", "5,x"]), UsageError);
    assert.throws(() => parseBenchArgs(["--only", "cold,warp"]), UsageError);
    assert.deepEqual(parseBenchArgs(["--only", "cold, operations"]).sections, ["cold", "operations"]);
  });
  it("bursts: three instances and a 30-date backfill by default, smaller with --quick, flags win", () => {
    const o = parseBenchArgs([]);
    assert.equal(o.burstInstances, 3);
    assert.equal(o.burstDates, 30);
    assert.ok(o.sections.includes("bursts"));
    const q = parseBenchArgs(["--quick"]);
    assert.ok(q.burstInstances >= 2 && q.burstDates < o.burstDates);
    const f = parseBenchArgs(["--only", "bursts", "--instances", "4", "--backfill-dates", "10"]);
    assert.deepEqual([f.sections, f.burstInstances, f.burstDates], [["bursts"], 4, 10]);
    assert.throws(() => parseBenchArgs(["--instances", "0"]), UsageError);
    assert.throws(() => parseBenchArgs(["--backfill-dates", "x"]), UsageError);
  });
  it("an unknown flag, a missing value or a positional argument is a usage error (exit 2), and --help lists every flag", () => {
    for (const argv of [["--no-such-flag"], ["--runs"], ["cold"]]) {
      assert.throws(() => parseBenchArgs(argv), (e: unknown) => e instanceof UsageError && e.exitCode === 2, argv.join(" "));
    }
    const { help, quick } = parseBenchArgs(["--help", "--quick"]);
    assert.deepEqual([help, quick], [true, true]);
    for (const flag of ["--json", "--quick", "--runs", "--only", "--latency-dates", "--e2e-dates", "--floor-samples", "--sizes", "--dates", "--instances", "--backfill-dates", "--help"]) {
      assert.match(BENCH_COMMAND.help, new RegExp(`^  (-h, )?${flag}\\b`, "m"), flag);
    }
  });
});

describe("bench: cost model", () => {
  it("the existing design's operations add up per completion and per trigger", () => {
    const ops = legacyOperations(16, 4);
    assert.equal(ops.firestoreWrites, 16 * LEGACY_PER_COMPLETION.firestoreWrites);
    assert.equal(ops.bigqueryDml, 16);
    assert.equal(ops.bigqueryInsertRows, 16 + 4);
    assert.equal(ops.pubsubPublishes, 4);
  });
  it("cost is linear in the operations, and a MERGE (10 MB minimum) costs more than a document write", () => {
    assert.equal(costOf(NO_OPERATIONS), 0);
    const one = { ...NO_OPERATIONS, bigqueryDml: 1 };
    assert.ok(Math.abs(costOf({ ...one, bigqueryDml: 3 }) - 3 * costOf(one)) < 1e-15);
    assert.ok(PRICES.bigqueryDml > PRICES.firestoreWrite);
  });
});

describe("bench: contention helpers", () => {
  it("redelivery backoff is full jitter within [1, min(max, min*2^(k-1))]", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (k, r) => {
        const d = redeliveryDelayMs(k, () => r);
        assert.ok(d >= 1 && d <= Math.min(REDELIVERY_MAX_MS, REDELIVERY_MIN_MS * 2 ** (k - 1)) + 1);
      }),
    );
  });
  it("the synthetic pipeline is valid and expects exactly N phase 2 processors", () => {
    for (const n of [1, 5, 100]) {
      const p = resolvePipeline(parsePipelineConfig(pipelineWithPhase2Processors(n)));
      assert.equal(transitionById(p, "phase2-to-phase3").processors.length, n);
    }
  });
  it("retries are the attempts that did not commit", () => {
    const a = { ...ZERO_COUNTS, transactionAttempts: 3, transactionsCommitted: 1 };
    const b = { ...ZERO_COUNTS, transactionAttempts: 10, transactionsCommitted: 4 };
    assert.equal(transactionRetries(diffCounts(a, b)), 7 - 3);
  });
});

describe("bench: cost model before and after the MERGE moved to the latch", () => {
  // A game day as measured: 16 completions, 4 triggers, one MERGE per trigger.
  const ours = { firestoreReads: 20, firestoreWrites: 20, bigqueryInsertRows: 20, bigqueryDml: 4, pubsubPublishes: 4 };
  it("before = the same operations with one MERGE per completion; the MERGE dominates it", () => {
    const before = withMergePerCompletion(ours, 16);
    assert.equal(before.bigqueryDml, 16);
    assert.equal(before.firestoreWrites, ours.firestoreWrites);
    assert.ok(costShares(before).bigqueryDml > 0.9, "at 10 MB billed per MERGE, one per completion is over 90% of the cost");
    assert.ok(costOf(ours) < costOf(before) / 3);
  });
  it("shares sum to 1 (0 for nothing billed) and follow the prices", () => {
    fc.assert(
      fc.property(fc.record({ firestoreReads: fc.nat(1000), firestoreWrites: fc.nat(1000), bigqueryInsertRows: fc.nat(1000), bigqueryDml: fc.nat(1000), pubsubPublishes: fc.nat(1000) }), (ops) => {
        const shares = Object.values(costShares(ops));
        const sum = shares.reduce((a, b) => a + b, 0);
        assert.ok(costOf(ops) === 0 ? sum === 0 : Math.abs(sum - 1) < 1e-9);
      }),
    );
    assert.deepEqual(costShares(NO_OPERATIONS), { firestoreReads: 0, firestoreWrites: 0, bigqueryInsertRows: 0, bigqueryDml: 0, pubsubPublishes: 0 });
  });
});

describe("bench: handler breakdown", () => {
  it("means per completion, and 'other' is what the counted calls leave of the handler time", () => {
    const c = (fs: number, dml: number) => ({ ...ZERO_COUNTS, firestoreTransactionMs: fs, transactionsCommitted: 1, bigqueryDmlMs: dml, bigqueryDml: dml > 0 ? 1 : 0 });
    const b = breakdownOf([30, 50], [c(10, 0), c(20, 1000)]);
    assert.equal(b.n, 2);
    assert.equal(b.handlerMs, 40);
    assert.equal(b.firestoreTransactionMs, 15);
    assert.equal(b.bigqueryDmlMs, 500);
    assert.equal(b.dmlStatements, 0.5);
    assert.equal(b.otherMs, 40 - 15 - 500);
  });
});

/** A report shaped like a full run's JSON (the values are made up; what matters is the shape). */
function fixtureReport(overrides: { dmlPerPhase?: number; triggeringVsFloor?: number; coldVsEmpty?: number; deadLettered?: number } = {}): BenchReport {
  const summary = { n: 10, min: 1, p50: 10, p95: 20, p99: 30, max: 30, mean: 12 };
  const ops = { firestoreReads: 1.2, firestoreWrites: 1.2, bigqueryInsertRows: 1.2, bigqueryDml: 0.25, pubsubPublishes: 0.25 };
  const perPhase = { ...ops, bigqueryDml: overrides.dmlPerPhase ?? 1 };
  const shares = { firestoreReads: 0.1, firestoreWrites: 0.2, bigqueryInsertRows: 0.1, bigqueryDml: 0.5, pubsubPublishes: 0.1 };
  const breakdown = breakdownOf([10], [{ ...ZERO_COUNTS, bigqueryDmlMs: 5 }]);
  const run = (dmlDurationMs: number, triggeringVsFloor: number) => ({
    dmlDurationMs,
    all: summary,
    recordOnly: summary,
    triggering: summary,
    serverSide: summary,
    breakdown: { recordOnly: breakdown, triggering: breakdown },
    recordOnlyVsFloor: 1.2,
    triggeringVsFloor,
  });
  const cold = { loadMs: 1, firstResponseMs: 3, firstRequestMs: 1, warmRequestMs: 1, cpuMs: 1, rssMiB: 150, runs: 1 };
  const burst = (kind: "one_date" | "backfill") => ({
    kind,
    dates: 1,
    completions: 16,
    wallMs: 1,
    serializedFloorMs: 2,
    vsSerializedFloor: 0.5,
    triggerLatency: summary,
    expectedTriggers: 4,
    exactlyOne: 4,
    triggerMessages: 4,
    distinctTriggerIds: 4,
    duplicates: [],
    missing: [],
    deadLettered: overrides.deadLettered ?? 0,
    requestsPerInstance: {},
    cutOff: false,
  });
  return {
    startedAt: "2026-12-01T00:00:00.000Z",
    durationMs: 1,
    machine: { cpus: 2, cpuModel: "x", memoryGb: 1, node: "v22", platform: "linux", loadAverageStart: [1, 1, 1], loadAverageEnd: [1, 1, 1] },
    options: { ...DEFAULT_OPTIONS, quick: false },
    coldStart: {
      floors: { bareNode: cold, frameworkOnly: { ...cold, firstResponseMs: 2 }, firestoreTransactionOnly: cold, nodeExit: { ms: 1, runs: 1 } },
      functions: [{ name: "phase2-to-phase3-orchestrator", kind: "orchestrator", variants: { bundle: cold }, vsFramework: { bundle: overrides.coldVsEmpty ?? 1.5 } }],
    },
    latency: {
      floor: { transaction: summary, publish: summary, transactionPlusPublish: summary, bigqueryInsertPlusMerge: summary },
      handlerRuns: { realisticDml: run(1000, overrides.triggeringVsFloor ?? 1.4), instantDml: run(0, 1.3) },
    },
    operations: {
      transitions: [{ transition: "t", completions: 4, triggers: 1, perCompletion: ops, perTriggeredPhase: perPhase, perDuplicate: ops }],
      gameDay: { dmlPerCompletion: 0.25, dmlPerTriggeredPhase: 1, oursCostUsd: 1, beforeCostUsd: 2, oursCostShares: shares, beforeCostShares: shares },
    },
    bursts: { stack: "dev", instances: 3, concurrencyPerInstance: 1, runs: [burst("one_date"), burst("backfill")] },
  } as unknown as BenchReport;
}

describe("bench: targets and the JSON shape", () => {
  it("the JSON a full report prints carries every pinned path (targets included); a missing one is named", () => {
    const report = fixtureReport();
    const json = JSON.parse(JSON.stringify({ ...report, targets: judgeTargets(report) })) as unknown;
    assert.deepEqual(missingJsonPaths(json), []);
    const withoutDml = JSON.parse(JSON.stringify(json)) as { operations: { gameDay: Record<string, unknown> } };
    delete withoutDml.operations.gameDay.dmlPerTriggeredPhase;
    assert.deepEqual(missingJsonPaths(withoutDml), ["operations.gameDay.dmlPerTriggeredPhase"]);
    assert.ok(missingJsonPaths({ bursts: { runs: [] } }).includes("bursts.runs[].exactlyOne"), "an empty array carries nothing");
    assert.ok(REPORT_JSON_PATHS.includes("bursts.runs[].vsSerializedFloor"));
  });
  it("four targets, each met at its limit and missed just beyond it", () => {
    const met = judgeTargets(fixtureReport());
    assert.deepEqual(met.map((t) => [t.id, t.met]), [
      ["cold_start", true],
      ["dml_per_triggered_phase", true],
      ["bursts_across_instances", true],
      ["handler_latency", true],
    ]);
    const missed = judgeTargets(fixtureReport({ coldVsEmpty: 1.51, dmlPerPhase: 2, deadLettered: 1, triggeringVsFloor: 1.51 }));
    assert.deepEqual(missed.map((t) => t.met), [false, false, false, false]);
    assert.equal(missed[3]!.figures.triggeringVsFloor, 1.51);
  });
  it("a section that did not run is judged null, not met", () => {
    const r = fixtureReport();
    delete r.bursts;
    delete r.latency;
    const verdicts = judgeTargets(r);
    assert.equal(verdicts.find((t) => t.id === "bursts_across_instances")!.met, null);
    assert.equal(verdicts.find((t) => t.id === "handler_latency")!.met, null);
  });
});

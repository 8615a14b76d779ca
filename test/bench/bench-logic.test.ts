// The bench's pure parts: statistics, argument parsing, the cost model, the redelivery backoff and the
// synthetic pipeline of the contention runs.
import assert from "node:assert/strict";
import fc from "fast-check";
import { median, quantile, ratio, summarize } from "../../bench/stats.ts";
import { DEFAULT_OPTIONS, parseBenchArgs, UsageError } from "../../bench/options.ts";
import { costOf, LEGACY_PER_COMPLETION, legacyOperations, NO_OPERATIONS, PRICES } from "../../bench/cost-model.ts";
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

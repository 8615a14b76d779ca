import assert from "node:assert/strict";
import fc from "fast-check";
import { captureLogs } from "../../functions/lib/logger.ts";
import {
  EVENT_RETRY_PLAN,
  eventBudgetMs,
  HANDLER_MARGIN_MS,
  PLATFORM_DEFAULT_TIMEOUT_MS,
  RETRY_PRESETS,
  backoffCeilingMs,
  fullJitterDelayMs,
  runWithDeadline,
  currentDeadline,
  setDefaultRetryRuntime,
  withRetry,
  worstCaseBudgetMs,
  worstCasePlanMs,
  RetryAttemptTimeoutError,
  RetryGaveUpError,
  type RetryPreset,
  type RetryRuntime,
} from "../../functions/lib/retry.ts";
import { readPhaseStates } from "../../functions/lib/phase-state-transactions.ts";
import type { Breaker } from "../../functions/lib/circuit-breaker.ts";
import type { Firestore } from "@google-cloud/firestore";

/** A fake clock: sleeping advances time instantly and records the delay. */
function fakeRuntime(randoms: number[] = []): RetryRuntime & { sleeps: number[]; t: number } {
  const rt = {
    t: 1_000_000,
    sleeps: [] as number[],
    now: () => rt.t,
    sleep: (ms: number) => {
      rt.sleeps.push(ms);
      rt.t += ms;
      return Promise.resolve();
    },
    random: () => randoms.shift() ?? 0.5,
  };
  return rt;
}
const unavailable = () => Object.assign(new Error("14 UNAVAILABLE: no connection"), { code: 14 });
const invalid = () => Object.assign(new Error("3 INVALID_ARGUMENT: bad"), { code: 3 });

describe("retry: withRetry on p-retry with full jitter", () => {
  it("the presets carry the parameters the event budget was computed with", () => {
    const pick = (p: RetryPreset) => [p.attempts, p.baseMs, p.capMs];
    assert.deepEqual(pick(RETRY_PRESETS.firestoreWrite), [3, 1000, 10000]);
    assert.deepEqual(pick(RETRY_PRESETS.bigqueryMerge), [3, 1000, 15000]);
    assert.deepEqual(pick(RETRY_PRESETS.bigqueryInsert), [3, 500, 8000]);
    assert.deepEqual(pick(RETRY_PRESETS.pubsubPublish), [3, 250, 4000]);
    assert.deepEqual(pick(RETRY_PRESETS.slack), [3, 500, 5000]);
  });

  it("full jitter stays in [0, min(cap, base*2^n)) for any random draw", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(RETRY_PRESETS)),
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (preset, n, r) => {
          const d = fullJitterDelayMs(preset, n, () => r);
          const ceiling = Math.min(preset.capMs, preset.baseMs * 2 ** n);
          assert.equal(backoffCeilingMs(preset, n), ceiling);
          assert.ok(d >= 0 && d < ceiling, `${d} in [0, ${ceiling})`);
        },
      ),
    );
  });

  it("retries a transient error and returns the later success, sleeping the jittered delays", async () => {
    const rt = fakeRuntime([0.25, 0.75]);
    const cap = captureLogs();
    const seen: number[] = [];
    const result = await withRetry(
      "firestore.write",
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw unavailable();
        return "ok";
      },
      RETRY_PRESETS.firestoreWrite,
      { runtime: rt, logger: cap.logger },
    );
    assert.equal(result, "ok");
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(rt.sleeps, [250, 1500]); // 0.25*1000, 0.75*2000
    const warnings = cap.find("WARNING", "retrying firestore.write");
    assert.equal(warnings.length, 2);
    assert.deepEqual(warnings.map((w) => [w["attempt"], w["delay_ms"], w["error_code"]]), [
      [1, 250, "UNAVAILABLE"],
      [2, 1500, "UNAVAILABLE"],
    ]);
  });

  it("does not retry a non-transient error and records attempts on it", async () => {
    const rt = fakeRuntime();
    let calls = 0;
    const err = await withRetry("op", async () => {
      calls++;
      throw invalid();
    }, RETRY_PRESETS.firestoreWrite, { runtime: rt, logger: captureLogs().logger }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(calls, 1);
    assert.deepEqual(rt.sleeps, []);
    assert.match((err.cause as Error).message, /INVALID_ARGUMENT/);
    assert.equal(err.attempts, 1);
    assert.equal(err.gaveUp, "not_transient");
  });

  it("carries its bookkeeping on a wrapping error: the caller's error is neither mutated nor replaced", async () => {
    const original = unavailable();
    const keysBefore = Object.keys(original).sort();
    const err = await withRetry("op", async () => {
      throw original;
    }, RETRY_PRESETS.pubsubPublish, { runtime: fakeRuntime(), logger: captureLogs().logger }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RetryGaveUpError, String(err));
    assert.equal(err.cause, original);
    assert.deepEqual(Object.keys(original).sort(), keysBefore, "nothing written onto the original");
    assert.deepEqual([err.attempts, err.gaveUp, err.category], [3, "attempts_exhausted", "transient"]);
    assert.match(err.message, /^op failed after 3 attempt\(s\) \(attempts exhausted\): /);
    // A frozen error is wrapped the same way (the old in-place bookkeeping had to skip it).
    const frozen = Object.freeze(Object.assign(new Error("400 bad"), { code: 3 }));
    const wrapped = await withRetry("op", () => Promise.reject(frozen), RETRY_PRESETS.pubsubPublish, { runtime: fakeRuntime(), logger: captureLogs().logger }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.deepEqual([wrapped.cause, wrapped.attempts, wrapped.gaveUp, wrapped.category], [frozen, 1, "not_transient", "permanent"]);
  });

  it("gives up after preset.attempts and rethrows the last error", async () => {
    const rt = fakeRuntime();
    let calls = 0;
    const onRetry: number[] = [];
    const err = await withRetry("op", async () => {
      calls++;
      throw Object.assign(unavailable(), { message: `fail ${calls}` });
    }, RETRY_PRESETS.pubsubPublish, { runtime: rt, logger: captureLogs().logger, onRetry: (i) => onRetry.push(i.attempt) }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(calls, 3);
    assert.equal((err.cause as Error).message, "fail 3", "the last attempt's error is the cause");
    assert.equal(err.op, "op");
    assert.equal(err.attempts, 3);
    assert.equal(err.gaveUp, "attempts_exhausted");
    assert.deepEqual(onRetry, [1, 2]);
  });

  it("does not start a retry that could not finish before the deadline (its delay plus a full attempt)", async () => {
    const rt = fakeRuntime([0.9, 0.9]);
    let calls = 0;
    const preset = RETRY_PRESETS.firestoreWrite;
    // First retry: 900 ms delay + a 2500 ms attempt fits in 4000; the second (1800 + 2500 more) does not.
    const err = await withRetry("op", async () => {
      calls++;
      throw unavailable();
    }, preset, { runtime: rt, logger: captureLogs().logger, deadlineMs: 900 + preset.attemptTimeoutMs + 600 }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(calls, 2);
    assert.equal(err.gaveUp, "deadline");
    assert.deepEqual(rt.sleeps, [900], "the second retry's delay was never slept");
  });

  it("a retry whose delay fits but whose attempt would run past the deadline is not started", async () => {
    const rt = fakeRuntime([0.9]);
    let calls = 0;
    const err = await withRetry("op", async () => {
      calls++;
      throw unavailable();
    }, RETRY_PRESETS.firestoreWrite, { runtime: rt, logger: captureLogs().logger, deadlineMs: 1000 }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(calls, 1, "900 ms delay fits in 1000, but a 2500 ms attempt after it could not finish");
    assert.equal(err.gaveUp, "deadline");
  });

  it("runWithDeadline: every withRetry inside it honours the event deadline", async () => {
    const rt = fakeRuntime([0.9, 0.9]);
    let calls = 0;
    const err = await runWithDeadline(rt.t + 4000, async () => {
      assert.equal(currentDeadline(), rt.t + 4000);
      // A nested, later deadline does not extend the event's.
      return runWithDeadline(rt.t + 60_000, () =>
        withRetry("op", async () => {
          calls++;
          throw unavailable();
        }, RETRY_PRESETS.firestoreWrite, { runtime: rt, logger: captureLogs().logger }),
      );
    }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(calls, 2);
    assert.equal(err.gaveUp, "deadline");
    assert.equal(currentDeadline(), undefined);
  });

  it("runWithDeadline caps a long attempt timeout to the time left (real clock)", async () => {
    const started = performance.now();
    const err = await runWithDeadline(Date.now() + 60, () =>
      withRetry("stall", () => new Promise<never>(() => undefined), RETRY_PRESETS.firestoreWrite, {
        logger: captureLogs().logger,
        attemptTimeoutMs: 20_000,
      }),
    ).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.ok(err.cause instanceof RetryAttemptTimeoutError, String(err.cause));
    assert.equal(err.gaveUp, "deadline");
    // Capped: far below the 20 s attempt bound it would otherwise wait (ample for a loaded machine).
    assert.ok(performance.now() - started < 10_000, `${performance.now() - started} ms`);
  });

  it("bounds each attempt: a stalled attempt fails with a transient timeout and is retried", async () => {
    const rt = fakeRuntime();
    const aborted: boolean[] = [];
    const result = await withRetry("op", (attempt, signal) => {
      if (attempt === 1) {
        return new Promise<string>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted.push(true);
            resolve("late");
          });
        });
      }
      return Promise.resolve("second");
    }, RETRY_PRESETS.firestoreWrite, { runtime: rt, logger: captureLogs().logger, attemptTimeoutMs: 30 });
    assert.equal(result, "second");
    assert.deepEqual(aborted, [true]);
  });

  it("an aborted signal stops retrying with the abort reason", async () => {
    const controller = new AbortController();
    const rt = fakeRuntime();
    const reason = new Error("event cancelled");
    const err = await withRetry("op", async () => {
      controller.abort(reason);
      throw unavailable();
    }, RETRY_PRESETS.firestoreWrite, { runtime: rt, logger: captureLogs().logger, signal: controller.signal }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(err.cause, reason);
    assert.equal(err.gaveUp, "aborted");
  });

  it("honours a server delay up to cap only for presets that allow it", async () => {
    const rt = fakeRuntime([0, 0]);
    let calls = 0;
    await withRetry("slack", async () => {
      if (++calls < 2) throw Object.assign(new Error("429"), { status: 429 });
      return true;
    }, RETRY_PRESETS.slack, { runtime: rt, logger: captureLogs().logger, serverDelayMs: () => 2000 });
    assert.deepEqual(rt.sleeps, [2000]);

    const rt2 = fakeRuntime();
    const err = await withRetry("slack", async () => {
      throw Object.assign(new Error("429"), { status: 429 });
    }, RETRY_PRESETS.slack, { runtime: rt2, logger: captureLogs().logger, serverDelayMs: () => 60_000 }).then(
      () => assert.fail("should reject"),
      (e: unknown) => e as RetryGaveUpError,
    );
    assert.equal(err.gaveUp, "server_delay_too_long");
    assert.deepEqual(rt2.sleeps, []);
  });

  it("setDefaultRetryRuntime replaces the clock for callers that pass none, and restores", async () => {
    const rt = fakeRuntime();
    const restore = setDefaultRetryRuntime(rt);
    try {
      let calls = 0;
      await withRetry("op", async () => {
        if (++calls < 3) throw unavailable();
      }, RETRY_PRESETS.bigqueryMerge, { logger: captureLogs().logger });
      assert.equal(rt.sleeps.length, 2);
    } finally {
      restore();
    }
  });

  it("worst-case budget of a preset: every attempt times out, every delay is maximal", () => {
    assert.equal(worstCaseBudgetMs(RETRY_PRESETS.firestoreWrite), 3 * 2500 + 1000 + 2000);
    assert.equal(worstCaseBudgetMs(RETRY_PRESETS.slack), 3 * 1500 + 2 * 5000);
  });

  it("worstCasePlanMs sums the plan's steps with the attempt bound each step uses", () => {
    const expected = Object.values(EVENT_RETRY_PLAN).reduce(
      (sum, step) => sum + worstCaseBudgetMs({ ...step.preset, attemptTimeoutMs: "attemptTimeoutMs" in step ? step.attemptTimeoutMs : step.preset.attemptTimeoutMs }),
      0,
    );
    assert.equal(worstCasePlanMs(EVENT_RETRY_PLAN), expected);
    // The transaction steps use their own (longer) bound, not the preset's 2.5 s.
    assert.ok(worstCasePlanMs({ tx: EVENT_RETRY_PLAN.recordCompletion }) > worstCaseBudgetMs(RETRY_PRESETS.firestoreWrite));
  });

  it("eventBudgetMs: the declared timeout minus the handler margin (at most a tenth of it)", () => {
    assert.equal(eventBudgetMs(300_000), 300_000 - HANDLER_MARGIN_MS);
    assert.equal(eventBudgetMs(PLATFORM_DEFAULT_TIMEOUT_MS), 60_000 - HANDLER_MARGIN_MS);
    assert.equal(eventBudgetMs(10_000), 9_000);
    fc.assert(fc.property(fc.integer({ min: 1000, max: 3_600_000 }), (t) => eventBudgetMs(t) < t && eventBudgetMs(t) >= t * 0.9));
  });

  it("measured: the slowest path with real timers takes no longer than the budget (scaled preset)", async () => {
    // A preset scaled to milliseconds so the real-time run is short; every attempt stalls to its timeout.
    const preset: RetryPreset = { name: "scaled", attempts: 3, baseMs: 10, capMs: 40, attemptTimeoutMs: 20 };
    const started = performance.now();
    await withRetry("stall", () => new Promise<never>(() => undefined), preset, { logger: captureLogs().logger, runtime: { random: () => 0.999 } }).then(
      () => assert.fail("should reject"),
      (e: unknown) => assert.ok((e as RetryGaveUpError).cause instanceof RetryAttemptTimeoutError, String(e)),
    );
    const elapsed = performance.now() - started;
    // Timers fire late on a loaded machine, never early: the slack only has to stay below what a
    // production-sized wait would add (one firestoreWrite attempt alone is 2.5 s).
    assert.ok(elapsed <= worstCaseBudgetMs(preset) + 2_000, `${elapsed} ms (timer slack allowed)`);
    assert.ok(elapsed >= 3 * 20, `${elapsed} ms`);
  });

  it("a read is retried under a read preset: the scheduled jobs' phase-state query logs preset firestoreRead", async () => {
    const restore = setDefaultRetryRuntime(fakeRuntime());
    try {
      const cap = captureLogs();
      let calls = 0;
      const query = {
        where: () => query,
        get: () => (++calls === 1 ? Promise.reject(unavailable()) : Promise.resolve({ docs: [] })),
      };
      const db = { collection: () => query } as unknown as Firestore;
      const breaker = { fire: <T>(fn: () => Promise<T>) => fn() } as unknown as Breaker;
      assert.deepEqual(await readPhaseStates({ db, stateCollection: "phase_state", breaker, logger: cap.logger }, "2026-01-01", "2026-01-02"), []);
      const retries = cap.find("WARNING", "retrying firestore.readPhaseStates");
      assert.equal(retries.length, 1);
      assert.equal((retries[0] as unknown as { preset: string }).preset, "firestoreRead");
    } finally {
      restore();
    }
  });
});

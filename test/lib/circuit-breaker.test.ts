import assert from "node:assert/strict";
import { mock } from "node:test";
import { BREAKER_DEFAULTS, breakerSnapshots, createBreaker, type Breaker } from "../../functions/lib/circuit-breaker.ts";
import { CircuitOpenError, isTransient } from "../../functions/lib/errors.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import { RETRY_PRESETS, RetryGaveUpError, withRetry } from "../../functions/lib/retry.ts";

const unavailable = () => Object.assign(new Error("14 UNAVAILABLE: connect ECONNREFUSED"), { code: 14 });
const aborted = () => Object.assign(new Error("10 ABORTED: Transaction lock timeout"), { code: 10 });
const invalid = () => Object.assign(new Error("3 INVALID_ARGUMENT: bad field"), { code: 3 });
const rejects = (p: Promise<unknown>) => p.then(() => assert.fail("should reject"), (e: unknown) => e);

describe("circuit-breaker: opossum with a consecutive-failure trigger", () => {
  let breakers: Breaker[] = [];
  const make = (...args: Parameters<typeof createBreaker>) => {
    const b = createBreaker(...args);
    breakers.push(b);
    return b;
  };
  afterEach(() => {
    for (const b of breakers) b.shutdown();
    breakers = [];
    mock.timers.reset();
  });

  it("defaults: 5 consecutive failures, 30 s reset", () => {
    assert.deepEqual(BREAKER_DEFAULTS, { failureThreshold: 5, resetTimeoutMs: 30_000 });
    const b = make("defaults", { logger: captureLogs().logger });
    assert.equal(b.snapshot().failureThreshold, 5);
    assert.equal(b.snapshot().resetTimeoutMs, 30_000);
  });

  it("opens after N consecutive transient failures, then fails fast without calling", async () => {
    const cap = captureLogs();
    const b = make("fs-open", { failureThreshold: 3, logger: cap.logger });
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(unavailable());
    };
    for (let i = 0; i < 2; i++) await rejects(b.fire(failing));
    assert.equal(b.state, "closed");
    await rejects(b.fire(failing));
    assert.equal(b.state, "open");
    assert.equal(calls, 3);

    const err = await rejects(b.fire(failing));
    assert.ok(err instanceof CircuitOpenError);
    assert.equal(isTransient(err), false);
    assert.equal(calls, 3, "an open circuit does not call the dependency");
    assert.equal(b.snapshot().rejected, 1);
    assert.equal(b.snapshot().lastError?.code, "UNAVAILABLE");
    const opened = cap.find("ERROR", "circuit fs-open opened");
    assert.equal(opened.length, 1);
    assert.equal(opened[0]?.["circuit_state"], "open");
  });

  it("a success in between resets the streak", async () => {
    const b = make("fs-streak", { failureThreshold: 3, logger: captureLogs().logger });
    await rejects(b.fire(() => Promise.reject(unavailable())));
    await rejects(b.fire(() => Promise.reject(unavailable())));
    assert.equal(await b.fire(() => Promise.resolve("ok")), "ok");
    await rejects(b.fire(() => Promise.reject(unavailable())));
    await rejects(b.fire(() => Promise.reject(unavailable())));
    assert.equal(b.state, "closed");
    assert.equal(b.snapshot().consecutiveFailures, 2);
  });

  it("non-transient errors do not count toward opening, and are rethrown unchanged", async () => {
    const b = make("fs-invalid", { failureThreshold: 2, logger: captureLogs().logger });
    for (let i = 0; i < 10; i++) {
      const err = await rejects(b.fire(() => Promise.reject(invalid())));
      assert.match((err as Error).message, /INVALID_ARGUMENT/);
    }
    assert.equal(b.state, "closed");
    assert.equal(b.snapshot().consecutiveFailures, 0);
  });

  it("contention (a transaction ABORTED by another writer) is retried elsewhere but never opens the circuit", async () => {
    const b = make("fs-contention", { failureThreshold: 2, logger: captureLogs().logger });
    assert.ok(isTransient(aborted()), "ABORTED stays transient: withRetry retries it");
    for (let i = 0; i < 10; i++) {
      const err = await rejects(b.fire(() => Promise.reject(aborted())));
      assert.match((err as Error).message, /ABORTED/);
    }
    assert.equal(b.state, "closed");
    // ...while the same number of outage errors does open it.
    for (let i = 0; i < 2; i++) await rejects(b.fire(() => Promise.reject(unavailable())));
    assert.equal(b.state, "open");
  });

  it("half-opens after resetTimeout (30 s on a mocked clock): a failed trial reopens, a good one closes", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const cap = captureLogs();
    const b = make("fs-half", { failureThreshold: 1, logger: cap.logger });
    await rejects(b.fire(() => Promise.reject(unavailable())));
    assert.equal(b.state, "open");
    mock.timers.tick(29_999);
    assert.equal(b.state, "open");
    mock.timers.tick(1);
    assert.equal(b.state, "half_open");
    assert.equal(cap.find("WARNING", "half-open").length, 1);

    await rejects(b.fire(() => Promise.reject(unavailable())));
    assert.equal(b.state, "open", "a failed trial reopens");
    mock.timers.tick(30_000);
    assert.equal(b.state, "half_open");
    assert.equal(await b.fire(() => Promise.resolve(42)), 42);
    assert.equal(b.state, "closed");
    assert.equal(cap.find("WARNING", "closed: dependency recovered").length, 1);
  });

  it("in half-open only one trial runs; concurrent calls fail fast", async () => {
    const b = make("fs-trial", { failureThreshold: 1, resetTimeoutMs: 20, logger: captureLogs().logger });
    await rejects(b.fire(() => Promise.reject(unavailable())));
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(b.state, "half_open");
    let release: () => void = () => undefined;
    const trial = b.fire(() => new Promise<string>((r) => (release = () => r("trial"))));
    const second = await rejects(b.fire(() => Promise.resolve("second")));
    assert.ok(second instanceof CircuitOpenError);
    release();
    assert.equal(await trial, "trial");
    assert.equal(b.state, "closed");
  });

  it("composed with withRetry, an open circuit stops the retries at once", async () => {
    const b = make("fs-retry", { failureThreshold: 2, logger: captureLogs().logger });
    let calls = 0;
    const sleeps: number[] = [];
    const err = await rejects(
      withRetry("write", () => b.fire(() => {
        calls++;
        return Promise.reject(unavailable());
      }), RETRY_PRESETS.firestoreWrite, {
        logger: captureLogs().logger,
        runtime: { sleep: (ms) => (sleeps.push(ms), Promise.resolve()), random: () => 0.5 },
      }),
    );
    // withRetry stopped on the open circuit (not transient) and says so around it.
    assert.ok(err instanceof RetryGaveUpError, String(err));
    assert.ok(err.cause instanceof CircuitOpenError, String(err.cause));
    assert.deepEqual([err.attempts, isTransient(err)], [3, false]);
    assert.equal(calls, 2);
    assert.equal(sleeps.length, 2);
  });

  it("breakerSnapshots lists live breakers for /health", () => {
    make("snap-a", { logger: captureLogs().logger });
    const names = breakerSnapshots().map((s) => s.name);
    assert.ok(names.includes("snap-a"));
  });
});

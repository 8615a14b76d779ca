// The chaos schedule is a pure function of its seed and shape: same seed, same schedule; each
// dependency faulty for about a fifth of the run; windows of different dependencies overlap.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createRng } from "../../tools/chaos/prng.ts";
import { drawSchedule, faultyMs, FAULTY_FRACTION, MIN_WINDOW_MS, overlaps, phasePublications, WINDOWED_DEPENDENCIES, type ScheduleShape } from "../../tools/chaos/schedule.ts";

const shape = (seed: number, durationMs = 180_000): ScheduleShape => ({
  seed,
  durationMs,
  orchestrators: ["phase2-to-phase3", "phase3-to-phase4", "phase4-to-phase5", "phase5-to-phase6"],
  scheduled: ["phase-reconciler", "phase-sweeper"],
  instances: 2,
  transitions: ["phase2-to-phase3", "phase3-to-phase4", "phase4-to-phase5", "phase5-to-phase6"],
  dates: 10,
});

describe("chaos: the PRNG", () => {
  it("is deterministic per seed and label, and labels give independent streams", () => {
    const a = createRng(42, "x");
    const b = createRng(42, "x");
    const c = createRng(42, "y");
    const xs = Array.from({ length: 20 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 20 }, () => b.next()));
    assert.notDeepEqual(xs, Array.from({ length: 20 }, () => c.next()));
    for (const x of xs) assert.ok(x >= 0 && x < 1);
  });

  it("int() stays within its bounds and reaches both ends", () => {
    const r = createRng(7);
    const seen = new Set(Array.from({ length: 500 }, () => r.int(1, 3)));
    assert.deepEqual([...seen].sort(), [1, 2, 3]);
  });
});

describe("chaos: the schedule", () => {
  it("same seed -> the same schedule; another seed -> another", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        assert.deepEqual(drawSchedule(shape(seed)), drawSchedule(shape(seed)));
        assert.notDeepEqual(drawSchedule(shape(seed)).faults, drawSchedule(shape(seed === 0 ? 1 : seed - 1)).faults);
      }),
      { numRuns: 50 },
    );
  });

  it("each dependency is faulty for 15-25 % of the run, in windows inside the run that never overlap each other", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 30_000, max: 600_000 }), (seed, durationMs) => {
        const s = drawSchedule(shape(seed, durationMs));
        for (const d of WINDOWED_DEPENDENCIES) {
          const fraction = faultyMs(s, d) / durationMs;
          assert.ok(fraction >= FAULTY_FRACTION.min - 0.01 && fraction <= FAULTY_FRACTION.max + 0.01, `${d}: ${fraction}`);
          const ws = s.faults.filter((f) => f.dependency === d);
          assert.ok(ws.length >= 1 && ws.length <= 3);
          for (const w of ws) {
            assert.ok(w.fromMs >= 0 && w.toMs <= durationMs && w.toMs - w.fromMs >= Math.min(MIN_WINDOW_MS, durationMs * FAULTY_FRACTION.min));
          }
          for (let i = 1; i < ws.length; i++) assert.ok(ws[i]!.fromMs >= ws[i - 1]!.toMs);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("averaged over many seeds, each dependency is faulty a fifth of the time", () => {
    for (const d of WINDOWED_DEPENDENCIES) {
      const mean = Array.from({ length: 400 }, (_, seed) => faultyMs(drawSchedule(shape(seed)), d) / 180_000).reduce((a, b) => a + b, 0) / 400;
      assert.ok(Math.abs(mean - 0.2) < 0.01, `${d}: mean ${mean}`);
    }
  });

  it("windows of different dependencies overlap in most schedules, and every fault kind is drawn", () => {
    const schedules = Array.from({ length: 200 }, (_, seed) => drawSchedule(shape(seed)));
    assert.ok(schedules.filter((s) => overlaps(s).length > 0).length > 100);
    const kinds = new Set(schedules.flatMap((s) => s.faults.map((f) => f.fault)));
    for (const k of ["firestore-refused", "firestore-stalled", "bigquery-down", "bigquery-503", "bigquery-429", "bigquery-dml-limit", "pubsub-publish-refused", "slack-down", "slack-429", "crash", "crash-before-publish"]) {
      assert.ok(kinds.has(k as never), `${k} never drawn`);
    }
  });

  it("crashes: about one per 45 s, within the run, naming a function and an instance of the stack", () => {
    const s = drawSchedule(shape(9));
    const crashes = s.faults.filter((f) => f.dependency === "instance");
    assert.equal(crashes.length, 4);
    for (const c of crashes) {
      assert.match(c.target, /^(phase\d-to-phase\d|phase-sweeper|phase-reconciler)#(\*|[01])$/);
      if (c.fault === "crash-before-publish") assert.match(c.target, /^phase\d-to-phase\d#\*$/);
      assert.ok(c.fromMs >= 0 && c.toMs <= 180_000 + 3000);
    }
  });

  it("bad input: every kind at least once, on the pipeline's transitions, in time order", () => {
    const s = drawSchedule(shape(3, 60_000));
    assert.deepEqual([...new Set(s.inputs.map((i) => i.kind))].sort(), ["contract-violation", "not-json", "unknown-processor"]);
    for (let i = 1; i < s.inputs.length; i++) assert.ok(s.inputs[i]!.atMs >= s.inputs[i - 1]!.atMs);
    assert.equal(s.dateStartsMs.length, 10);
    assert.equal(s.dateStartsMs[0], 0);
  });

  it("a phase's publications depend only on seed, transition and date; some are published twice", () => {
    const ps = ["a", "b", "c", "d", "e"];
    assert.deepEqual(phasePublications(5, "t", "2026-01-01", ps), phasePublications(5, "t", "2026-01-01", ps));
    assert.notDeepEqual(phasePublications(5, "t", "2026-01-01", ps), phasePublications(5, "t", "2026-01-02", ps));
    const copies = Array.from({ length: 100 }, (_, seed) => phasePublications(seed, "t", "d", ps)).flat().filter((p) => p.copyDelaysMs.length > 0).length;
    assert.ok(copies > 60 && copies < 190, `${copies} of 500 published twice`);
  });

  it("refuses a negative or fractional seed", () => {
    assert.throws(() => drawSchedule(shape(-1)), /seed/);
    assert.throws(() => drawSchedule(shape(1.5)), /seed/);
  });
});

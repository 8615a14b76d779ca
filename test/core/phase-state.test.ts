// The pure rules of the phase-state document: recording is idempotent and order independent, a trigger
// is latched once and only under the document's own mode, and marking it published is idempotent.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyCompletion,
  clockOriginOf,
  COMPLETION_FUTURE_SKEW_MS,
  COMPLETION_MAX_AGE_MS,
  completionInstant,
  completionRowNotOwed,
  latchModeOfCompletion,
  markLatchIncomplete,
  republishDue,
  decideFor,
  emptyPhaseState,
  latchModeFor,
  latchTrigger,
  markPublished,
  phaseStateDocId,
  recordAndDecide,
  type PhaseStateDoc,
  type ResolvedCompletion,
} from "../../functions/core/phase-state.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { COMPLETION_STATUSES, type CompletionStatus } from "../../functions/core/pipeline-types.ts";
import { isCounting } from "../../functions/core/decision.ts";
import { addDays, runModeFor, startOfLocalDay } from "../../functions/core/run-mode.ts";

const pipeline = loadPipeline();
const TZ = pipeline.timeZone;
const phase2 = transitionById(pipeline, "phase2-to-phase3");
const phase3 = transitionById(pipeline, "phase3-to-phase4");
const GAME_DATE = "2026-01-15";
// 2026-01-16 15:00 UTC = 10:00 in New York: 2026-01-15 is yesterday (overnight).
const NOW = new Date("2026-01-16T15:00:00.000Z");

let counter = 0;
function completion(processor: string, over: Partial<ResolvedCompletion> = {}): ResolvedCompletion {
  counter++;
  return {
    processor,
    reportedName: processor,
    status: "success",
    gameDate: GAME_DATE,
    executionId: `exec-${counter}`,
    correlationId: "corr-1",
    completedAt: "2026-01-16T09:12:33.123Z",
    messageId: `msg-${counter}`,
    ...over,
  };
}

function fresh(transitionId: string, latchMode: PhaseStateDoc["latchMode"] = "daily"): PhaseStateDoc {
  return emptyPhaseState(transitionId, GAME_DATE, latchMode, NOW);
}

/** Applies completions in order, deciding and latching after each, as the tracker's transaction does. */
function run(doc: PhaseStateDoc, transitionId: string, cs: ResolvedCompletion[], now = NOW): PhaseStateDoc {
  const transition = transitionById(pipeline, transitionId);
  let d = doc;
  for (const c of cs) {
    d = applyCompletion(d, c, now).doc;
    d = latchTrigger(d, transition, decideFor(d, transition, now, TZ), c, now);
  }
  return d;
}

describe("phase-state (pure)", () => {
  it("recordAndDecide: the single writer's step -- records as of recordedAt, decides as of now, latches once", () => {
    const names = phase2.processors.map((p) => p.name);
    let doc: PhaseStateDoc | null = null;
    const recordedAt = new Date("2026-01-16T14:00:00.000Z");
    const steps = names.map((name) => {
      const step = recordAndDecide(doc, phase2, "daily", completion(name), recordedAt, NOW, TZ);
      doc = step.doc;
      return step;
    });
    assert.ok(steps.every((s) => s.write && s.changed));
    assert.deepEqual(steps.map((s) => s.latchedNow), names.map((_, i) => i === names.length - 1));
    assert.equal(steps.at(-1)!.doc.trigger?.state, "pending");
    assert.equal(steps[0]!.doc.entries[names[0]!]?.recordedAt, recordedAt.toISOString(), "entries keep the time they were recorded");
    assert.equal(steps[0]!.doc.firstCompletionAt, "2026-01-16T09:12:33.123Z", "the clock starts at the completion's own time");
    assert.equal(steps.at(-1)!.doc.trigger?.decidedAt, NOW.toISOString(), "the decision is taken now");
    const again = recordAndDecide(doc, phase2, "daily", { ...doc!.entries[names[0]!]!, gameDate: GAME_DATE } as unknown as ResolvedCompletion, recordedAt, NOW, TZ);
    assert.equal(again.write, false, "the same execution and status again writes nothing");
    assert.equal(again.latchedNow, false);
  });

  it("names one document per transition, date and latch mode", () => {
    assert.equal(phaseStateDocId("phase3-to-phase4", GAME_DATE, "overnight"), "phase3-to-phase4__2026-01-15__overnight");
    assert.notEqual(phaseStateDocId("phase3-to-phase4", GAME_DATE, "same_day"), phaseStateDocId("phase3-to-phase4", GAME_DATE, "overnight"));
    assert.equal(latchModeFor(phase2, GAME_DATE, NOW, TZ), "daily");
    assert.equal(latchModeFor(phase3, GAME_DATE, NOW, TZ), "overnight");
    assert.equal(latchModeFor(phase3, "2026-01-16", NOW, TZ), "same_day");
  });

  describe("applyCompletion", () => {
    it("records a new entry and the first completion time (the completion's own timestamp)", () => {
      const c = completion("p2_odds_game_lines");
      const { doc, changed } = applyCompletion(fresh(phase2.id), c, NOW);
      assert.equal(changed, true);
      assert.equal(doc.entries.p2_odds_game_lines?.executionId, c.executionId);
      assert.equal(doc.entries.p2_odds_game_lines?.recordedAt, NOW.toISOString());
      assert.equal(doc.firstCompletionAt, c.completedAt);
    });

    it("is idempotent: the same execution and status again changes nothing (a redelivery)", () => {
      const c = completion("p2_odds_game_lines");
      const once = applyCompletion(fresh(phase2.id), c, NOW).doc;
      const later = new Date(NOW.getTime() + 60_000);
      const twice = applyCompletion(once, { ...c, messageId: "redelivered" }, later);
      assert.equal(twice.changed, false);
      assert.equal(twice.doc, once);
    });

    it("a re-report of the same execution with new progress (completion_pct) is recorded; the same progress again is a duplicate", () => {
      const phase5 = transitionById(pipeline, "phase5-to-phase6");
      const report = (pct: number, minute: number) =>
        completion("prediction_coordinator", { executionId: "batch-1", completionPct: pct, completedAt: new Date(Date.UTC(2026, 0, 16, 9, minute)).toISOString() });
      let doc = emptyPhaseState(phase5.id, GAME_DATE, "daily", NOW);
      const seventy = recordAndDecide(doc, phase5, "daily", report(70, 0), NOW, NOW, TZ);
      assert.deepEqual([seventy.changed, seventy.decision.trigger], [true, false]);
      doc = seventy.doc;
      const ninetyFive = recordAndDecide(doc, phase5, "daily", report(95, 10), NOW, NOW, TZ);
      assert.deepEqual([ninetyFive.changed, ninetyFive.latchedNow, ninetyFive.decision.reason], [true, true, "completion_pct_95"]);
      assert.equal(recordAndDecide(ninetyFive.doc, phase5, "daily", report(95, 10), NOW, NOW, TZ).changed, false);
      assert.equal(recordAndDecide(ninetyFive.doc, phase5, "daily", report(70, 0), NOW, NOW, TZ).changed, false, "older progress does not win");
    });

    it("never lets a non-counting completion replace a counting one", () => {
      const ok = completion("p2_odds_game_lines", { completedAt: "2026-01-16T09:00:00.000Z" });
      const failedLater = completion("p2_odds_game_lines", { status: "failed", completedAt: "2026-01-16T10:00:00.000Z" });
      const doc = applyCompletion(applyCompletion(fresh(phase2.id), ok, NOW).doc, failedLater, NOW);
      assert.equal(doc.changed, false);
      assert.equal(doc.doc.entries.p2_odds_game_lines?.status, "success");
    });

    it("lets a later counting completion replace a failed one", () => {
      const failed = completion("player_game_summary", { status: "failed", completedAt: "2026-01-16T09:00:00.000Z" });
      const retried = completion("player_game_summary", { completedAt: "2026-01-16T09:30:00.000Z" });
      const r = applyCompletion(applyCompletion(fresh(phase3.id, "overnight"), failed, NOW).doc, retried, NOW);
      assert.equal(r.changed, true);
      assert.equal(r.doc.entries.player_game_summary?.executionId, retried.executionId);
    });

    // (processor, execution, status) determines the rest of a message: a redelivery repeats it exactly.
    const PROCESSORS = ["p2_odds_game_lines", "p2_nbacom_boxscores", "p2_nbacom_gamebook_pdf"];
    const messageArb = fc.record({
      processor: fc.constantFrom(...PROCESSORS),
      execution: fc.constantFrom("e1", "e2", "e3"),
      status: fc.constantFrom<CompletionStatus>(...COMPLETION_STATUSES),
      minute: fc.constantFrom(0, 0, 5, 30),
    });
    const toCompletion = (m: { processor: string; execution: string; status: CompletionStatus; minute: number }) =>
      completion(m.processor, {
        executionId: m.execution,
        status: m.status,
        messageId: `${m.processor}/${m.execution}/${m.status}`,
        completedAt: new Date(Date.UTC(2026, 0, 16, 9, m.minute)).toISOString(),
      });
    const uniqueMessages = fc
      .array(messageArb, { minLength: 1, maxLength: 12 })
      .map((ms) => [...new Map(ms.map((m) => [`${m.processor}/${m.execution}/${m.status}`, m])).values()]);

    it("order independence: any arrival order of the same messages (with redeliveries) gives the same document", () => {
      fc.assert(
        fc.property(uniqueMessages, fc.context(), fc.infiniteStream(fc.nat()), (ms, ctx, seeds) => {
          const withRedeliveries = ms.flatMap((m, i) => (i % 2 === 0 ? [m, m] : [m]));
          const keys = seeds.take(withRedeliveries.length);
          const shuffled = withRedeliveries.map((m, i) => ({ m, k: keys.next().value as number, i })).sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.m);
          ctx.log(JSON.stringify(shuffled));
          const a = run(fresh(phase2.id), phase2.id, withRedeliveries.map(toCompletion));
          const b = run(fresh(phase2.id), phase2.id, shuffled.map(toCompletion));
          assert.deepEqual(b.entries, a.entries);
          assert.equal(b.firstCompletionAt, a.firstCompletionAt);
          assert.equal(b.trigger?.triggerId, a.trigger?.triggerId);
          // Every processor that sent a counting message stands as counting.
          for (const p of PROCESSORS) {
            const counted = ms.some((m) => m.processor === p && isCounting(m.status));
            assert.equal(a.entries[p] !== undefined && isCounting(a.entries[p].status), counted);
          }
        }),
        { numRuns: 300 },
      );
    });

    it("idempotence property: applying any message a second time changes nothing", () => {
      fc.assert(
        fc.property(uniqueMessages, fc.nat(), (ms, pick) => {
          const doc = run(fresh(phase2.id), phase2.id, ms.map(toCompletion));
          const again = ms[pick % ms.length]!;
          const r = applyCompletion(doc, toCompletion(again), new Date(NOW.getTime() + 3_600_000));
          assert.equal(r.changed, false);
          assert.equal(r.doc, doc);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("latchTrigger", () => {
    const ALL_PHASE2 = phase2.processors.map((p) => p.name);

    it("latches a pending trigger with the payload once the decision fires", () => {
      const doc = run(fresh(phase2.id), phase2.id, ALL_PHASE2.map((p) => completion(p)));
      assert.ok(doc.trigger);
      assert.equal(doc.trigger.state, "pending");
      assert.equal(doc.trigger.triggerId, `${phase2.id}:${GAME_DATE}:daily`);
      assert.equal(doc.trigger.payload.trigger_id, doc.trigger.triggerId);
      assert.equal(doc.trigger.payload.game_date, GAME_DATE);
      assert.equal(doc.trigger.publishedAt, null);
    });

    it("does not latch while the decision waits", () => {
      const doc = run(fresh(phase2.id), phase2.id, ALL_PHASE2.slice(1).map((p) => completion(p)));
      assert.equal(doc.trigger, null);
    });

    it("latches one trigger only: later completions and decisions never replace it", () => {
      const doc = run(fresh(phase2.id), phase2.id, ALL_PHASE2.map((p) => completion(p)));
      const first = doc.trigger;
      const later = new Date(NOW.getTime() + 7_200_000);
      const after = run(doc, phase2.id, ALL_PHASE2.map((p) => completion(p, { completedAt: later.toISOString() })), later);
      assert.notEqual(after.entries[ALL_PHASE2[0]!]?.executionId, doc.entries[ALL_PHASE2[0]!]?.executionId, "entries did change");
      assert.deepEqual(after.trigger, first);
    });

    it("never latches across modes: a same-day document judged after midnight (overnight) does not fire", () => {
      const today = "2026-01-16";
      const sameDay = emptyPhaseState(phase3.id, today, "same_day", NOW);
      const afterMidnight = new Date("2026-01-17T06:00:00.000Z"); // 01:00 in New York on the 17th
      const all = (phase3.rule.kind === "mode_aware" ? phase3.rule.modes.overnight.expected : []).map((p) =>
        completion(p, { gameDate: today }),
      );
      assert.ok(all.length > 0);
      let doc = sameDay;
      for (const c of all) doc = applyCompletion(doc, c, afterMidnight).doc;
      const decision = decideFor(doc, phase3, afterMidnight, TZ);
      assert.equal(decision.trigger, true, "the overnight rule alone would fire");
      assert.equal(decision.latchMode, "overnight");
      assert.equal(latchTrigger(doc, phase3, decision, all[0]!, afterMidnight), doc);
      // The same completions on the overnight document do latch, under their own id.
      let overnight = emptyPhaseState(phase3.id, today, "overnight", afterMidnight);
      for (const c of all) overnight = applyCompletion(overnight, c, afterMidnight).doc;
      const latched = latchTrigger(overnight, phase3, decision, all[0]!, afterMidnight);
      assert.equal(latched.trigger?.triggerId, `${phase3.id}:${today}:overnight`);
    });

    it("same-day and overnight runs of one date latch under two trigger ids", () => {
      const today = "2026-01-16";
      const sameDayRun = run(emptyPhaseState(phase3.id, today, "same_day", NOW), phase3.id, [
        completion("upcoming_player_game_context", { gameDate: today }),
        completion("upcoming_team_game_context", { gameDate: today }),
      ]);
      const night = new Date("2026-01-17T10:00:00.000Z");
      const expected = phase3.rule.kind === "mode_aware" ? phase3.rule.modes.overnight.expected : [];
      const overnightRun = run(
        emptyPhaseState(phase3.id, today, "overnight", night),
        phase3.id,
        expected.map((p) => completion(p, { gameDate: today })),
        night,
      );
      assert.ok(sameDayRun.trigger && overnightRun.trigger);
      assert.notEqual(sameDayRun.trigger.triggerId, overnightRun.trigger.triggerId);
      assert.deepEqual([sameDayRun.trigger.payload.mode, overnightRun.trigger.payload.mode], ["same_day", "overnight"]);
    });
  });

  describe("markPublished", () => {
    it("moves pending to published once; again changes nothing; without a trigger it is a no-op", () => {
      const doc = run(fresh(phase2.id), phase2.id, phase2.processors.map((p) => completion(p.name)));
      const published = markPublished(doc, "pubsub-1", NOW);
      assert.equal(published.trigger?.state, "published");
      assert.equal(published.trigger?.publishedMessageId, "pubsub-1");
      assert.equal(published.trigger?.triggerId, doc.trigger?.triggerId);
      const again = markPublished(published, "pubsub-2", new Date(NOW.getTime() + 1000));
      assert.equal(again, published);
      const empty = fresh(phase2.id);
      assert.equal(markPublished(empty, "x", NOW), empty);
    });
  });

  describe("a completion's own time: latch mode (phase 3) and the first-completion clock (tiers)", () => {
    const HOUR = 3_600_000;
    const MINUTE = 60_000;
    const phase4 = transitionById(pipeline, "phase4-to-phase5");
    // Ordinary nights and the nights of both DST changes in New York (2026-03-08 spring forward, 2026-11-01 fall back).
    const GAME_DATES = ["2026-01-15", "2026-03-07", "2026-03-08", "2026-06-30", "2026-10-31", "2026-11-01"];

    it("property: the latch is chosen by the completion's timestamp around New York midnight, whatever the delivery delay", () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...GAME_DATES),
          fc.integer({ min: -3 * HOUR, max: 3 * HOUR }),
          fc.array(fc.integer({ min: 0, max: 72 * HOUR }), { minLength: 1, maxLength: 4 }),
          (gameDate, offsetMs, delays) => {
            const midnight = startOfLocalDay(addDays(gameDate, 1), TZ).getTime();
            const ts = new Date(midnight + offsetMs);
            const expected = offsetMs < 0 ? "same_day" : "overnight";
            assert.equal(runModeFor(gameDate, ts, TZ), expected);
            // The first delivery and every redelivery land in the same latch.
            for (const delay of delays) {
              const c = { gameDate, completedAt: ts.toISOString() };
              assert.equal(latchModeOfCompletion(phase3, c, new Date(ts.getTime() + delay), TZ), expected);
              assert.equal(latchModeOfCompletion(phase2, c, new Date(ts.getTime() + delay), TZ), "daily");
            }
          },
        ),
        { numRuns: 500 },
      );
    });

    it("the DST midnights themselves: 23:59:59 local is same_day, 00:00 local overnight, even when delivered a day later", () => {
      const cases: [string, string, string][] = [
        ["2026-03-07", "2026-03-08T04:59:59.000Z", "same_day"], // EST, the night before spring forward
        ["2026-03-07", "2026-03-08T05:00:00.000Z", "overnight"],
        ["2026-03-08", "2026-03-09T03:59:59.000Z", "same_day"], // EDT from 02:00 on the 8th
        ["2026-03-08", "2026-03-09T04:00:00.000Z", "overnight"],
        ["2026-10-31", "2026-11-01T03:59:59.000Z", "same_day"], // EDT, the night before fall back
        ["2026-10-31", "2026-11-01T04:00:00.000Z", "overnight"],
        ["2026-11-01", "2026-11-02T04:59:59.000Z", "same_day"], // EST from 02:00 on the 1st
        ["2026-11-01", "2026-11-02T05:00:00.000Z", "overnight"],
      ];
      for (const [gameDate, completedAt, mode] of cases) {
        const dayLater = new Date(Date.parse(completedAt) + 24 * HOUR);
        assert.equal(latchModeOfCompletion(phase3, { gameDate, completedAt }, dayLater, TZ), mode, `${gameDate} ${completedAt}`);
      }
      // What arrival time alone would have said for the first case: the bug this guards against.
      assert.equal(latchModeFor(phase3, "2026-03-07", new Date("2026-03-09T04:59:59.000Z"), TZ), "overnight");
    });

    it("clock skew: a timestamp up to 5 min ahead is believed; further ahead, or older than 32 days, the recording time stands in", () => {
      const rec = new Date("2026-01-16T04:58:00.000Z"); // 23:58 in New York on the 15th
      const at = (ms: number) => new Date(rec.getTime() + ms).toISOString();
      assert.equal(completionInstant(at(COMPLETION_FUTURE_SKEW_MS), rec).toISOString(), at(COMPLETION_FUTURE_SKEW_MS));
      assert.equal(completionInstant(at(COMPLETION_FUTURE_SKEW_MS + 1), rec), rec);
      assert.equal(completionInstant(at(-COMPLETION_MAX_AGE_MS), rec).toISOString(), at(-COMPLETION_MAX_AGE_MS));
      assert.equal(completionInstant(at(-COMPLETION_MAX_AGE_MS - 1), rec), rec);
      assert.equal(completionInstant("1970-01-01T00:00:00Z", rec), rec);
      // 3 min fast: believed, so it is overnight (and stays so on redelivery); 1 h fast: judged at arrival.
      assert.equal(latchModeOfCompletion(phase3, { gameDate: "2026-01-15", completedAt: at(3 * MINUTE) }, rec, TZ), "overnight");
      assert.equal(latchModeOfCompletion(phase3, { gameDate: "2026-01-15", completedAt: at(HOUR) }, rec, TZ), "same_day");
      fc.assert(
        fc.property(fc.integer({ min: -40 * 24 * HOUR, max: 40 * 24 * HOUR }), (offset) => {
          const instant = completionInstant(at(offset), rec).getTime();
          assert.ok(instant <= rec.getTime() + COMPLETION_FUTURE_SKEW_MS && instant >= rec.getTime() - COMPLETION_MAX_AGE_MS);
          assert.ok(Date.parse(clockOriginOf(at(offset), rec)) <= rec.getTime(), "the clock never starts after the recording");
        }),
      );
    });

    it("tier clock: a completion delivered 3 h late counts from its own time, so the 4-hour tier comes 4 h after it", () => {
      const t0 = new Date("2026-01-16T06:00:00.000Z");
      const late = new Date(t0.getTime() + 3 * HOUR);
      const step = recordAndDecide(null, phase4, "daily", completion("player_daily_cache", { completedAt: t0.toISOString() }), late, late, TZ);
      assert.equal(step.doc.firstCompletionAt, t0.toISOString());
      const at4h = decideFor(step.doc, phase4, new Date(t0.getTime() + 4 * HOUR), TZ);
      assert.deepEqual([at4h.trigger, at4h.tier], [true, 3]);
      assert.equal(decideFor(step.doc, phase4, new Date(t0.getTime() + 4 * HOUR - 1), TZ).trigger, false);
      // A timestamp 2 h in the future must not start the clock early: it starts at the recording.
      const future = recordAndDecide(null, phase4, "daily", completion("player_daily_cache", { completedAt: new Date(late.getTime() + 2 * HOUR).toISOString() }), late, late, TZ);
      assert.equal(future.doc.firstCompletionAt, late.toISOString());
      assert.equal(decideFor(future.doc, phase4, new Date(late.getTime() + 4 * HOUR - 1), TZ).trigger, false);
    });

    it("property: the clock starts at the earliest min(timestamp, recording) of all completions, in any arrival order, and tiers fire exactly that long after it", () => {
      const names = phase4.processors.map((p) => p.name);
      const base = Date.parse("2026-01-16T06:00:00.000Z");
      const arb = fc.array(
        fc.record({
          processor: fc.constantFrom(...names),
          status: fc.constantFrom<CompletionStatus>(...COMPLETION_STATUSES),
          tsOffset: fc.integer({ min: -10 * HOUR, max: 10 * HOUR }),
          // Negative: the timestamp lies ahead of the recording (skewed clock).
          delay: fc.integer({ min: -2 * HOUR, max: 12 * HOUR }),
        }),
        { minLength: 1, maxLength: 8 },
      );
      fc.assert(
        fc.property(arb, fc.infiniteStream(fc.nat()), (items, seeds) => {
          const cs = items.map((it, i) => {
            const ts = base + it.tsOffset;
            return {
              c: completion(it.processor, { status: it.status, executionId: `e${i}`, messageId: `m${i}`, completedAt: new Date(ts).toISOString() }),
              rec: new Date(ts + it.delay),
            };
          });
          const fold = (order: typeof cs) => {
            let doc: PhaseStateDoc | null = null;
            for (const { c, rec } of order) doc = recordAndDecide(doc, phase4, "daily", c, rec, rec, TZ).doc;
            return doc!;
          };
          const expected = Math.min(...cs.map(({ c, rec }) => Math.min(Date.parse(c.completedAt), rec.getTime())));
          const inOrder = fold(cs);
          assert.equal(inOrder.firstCompletionAt, new Date(expected).toISOString());
          const keys = seeds.take(cs.length);
          const shuffled = cs.map((x, i) => ({ x, k: keys.next().value as number, i })).sort((a, b) => a.k - b.k || a.i - b.i).map((y) => y.x);
          assert.equal(fold(shuffled).firstCompletionAt, inOrder.firstCompletionAt);
          // Never later than any recording: a late or a future-stamped completion cannot push a tier back or forward.
          assert.ok(cs.every(({ rec }) => expected <= rec.getTime()));
          // A tier fires exactly its minutes after the clock's start (if enough completed).
          const decision = decideFor(inOrder, phase4, new Date(expected + 240 * MINUTE), TZ);
          const counting = Object.values(inOrder.entries).filter((e) => isCounting(e.status)).length;
          assert.equal(decision.trigger, counting >= 1);
          if (counting < 5) assert.equal(decideFor(inOrder, phase4, new Date(expected + 60 * MINUTE - 1), TZ).trigger, false);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("who may publish a pending trigger", () => {
    const latched = () => run(fresh(phase2.id), phase2.id, phase2.processors.map((p) => completion(p.name)));

    it("the latching completion's message id is kept on the trigger", () => {
      const doc = latched();
      assert.equal(doc.trigger?.latchedBy, `msg-${counter}`);
    });

    it("republishDue: not within the grace period; at once when the latching call recorded a failed publish; never once published", () => {
      const doc = latched();
      const t = doc.trigger!;
      const grace = 75_000;
      assert.equal(republishDue(t, new Date(NOW.getTime() + grace - 1), grace), false);
      assert.equal(republishDue(t, new Date(NOW.getTime() + grace), grace), true);
      const failed = markLatchIncomplete(doc, { publishFailed: true, rowsOwedBy: null }, NOW);
      assert.equal(republishDue(failed.trigger!, NOW, grace), true);
      const published = markPublished(doc, "pubsub-1", NOW, "message:x");
      assert.equal(published.trigger?.publishedBy, "message:x");
      assert.equal(republishDue(published.trigger!, new Date(NOW.getTime() + 10 * grace), grace), false);
      // A published trigger never gets a failed-publish mark; the rows owed are still recorded.
      const owed = markLatchIncomplete(published, { publishFailed: true, rowsOwedBy: "m-1" }, NOW);
      assert.deepEqual([owed.trigger?.publishFailedAt, owed.trigger?.rowsOwedBy], [null, "m-1"]);
      assert.equal(markLatchIncomplete(owed, { publishFailed: false, rowsOwedBy: null }, NOW), owed);
    });
  });
});

describe("phase-state: who owns a completion's phase_completions row", () => {
  const p = phase2.processors[0]!.name;
  const recorded = (c: ResolvedCompletion) => applyCompletion(fresh(phase2.id), c, NOW).doc;

  it("the message that recorded the entry owns it; its own redelivery too", () => {
    const a = completion(p);
    const doc = recorded(a);
    assert.equal(completionRowNotOwed(doc, a), false);
    assert.equal(completionRowNotOwed(doc, { ...a }), false);
  });

  it("a copy of the same completion in another message does not; a different completion does", () => {
    const a = completion(p, { completionPct: 70 });
    const doc = recorded(a);
    assert.equal(completionRowNotOwed(applyCompletion(doc, { ...a, messageId: "copy" }, NOW).doc, { ...a, messageId: "copy" }), true);
    for (const other of [{ executionId: "exec-other" }, { status: "partial" as const }, { completionPct: 95 }]) {
      const c = { ...a, ...other, messageId: "copy" };
      assert.equal(completionRowNotOwed(applyCompletion(doc, c, NOW).doc, c), false, JSON.stringify(other));
    }
    assert.equal(completionRowNotOwed(fresh(phase2.id), a), false, "no entry: nobody owns it");
  });

  it("an entry copied from its row (the reconciler) owes no row, even to the message that wrote it; a different completion still does", () => {
    const a = completion(p);
    const doc = recorded({ ...a, rowInBigQuery: true });
    assert.equal(doc.entries[p]?.rowInBigQuery, true);
    assert.equal(completionRowNotOwed(doc, a), true, "the row's own message, redelivered after the reconciler copied its row");
    const later = { ...a, executionId: "exec-later", completedAt: new Date(Date.parse(a.completedAt) + 60_000).toISOString() };
    const replaced = applyCompletion(doc, later, NOW).doc;
    assert.equal(replaced.entries[p]?.rowInBigQuery, undefined, "a newer completion's entry does not inherit the flag");
    assert.equal(completionRowNotOwed(replaced, later), false);
  });

  it("property: whatever order copies arrive in, exactly one message of a completion writes its row", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 }), (copies, firstIdx) => {
        const base = completion(p);
        const messages = Array.from({ length: copies }, (_, i) => ({ ...base, messageId: `m${i}` }));
        const order = [...messages.slice(firstIdx % copies), ...messages.slice(0, firstIdx % copies)];
        let doc = fresh(phase2.id);
        let writers = 0;
        for (const m of order) {
          doc = applyCompletion(doc, m, NOW).doc;
          if (!completionRowNotOwed(doc, m)) writers++;
        }
        assert.equal(writers, 1);
      }),
    );
  });
});

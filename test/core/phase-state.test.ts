// The pure rules of the phase-state document: recording is idempotent and order independent, a trigger
// is latched once and only under the document's own mode, and marking it published is idempotent.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyCompletion,
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
});

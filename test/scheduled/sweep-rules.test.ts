// The sweeper's plan for one phase-state document at an instant: tiers and deadline by time alone,
// re-publishing pending triggers after the grace period, stall findings in the latch's own mode.
import assert from "node:assert/strict";
import fc from "fast-check";
import { latchTrigger, decideFor, markLatchIncomplete, markPublished } from "../../functions/core/phase-state.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import { latchCauseOf, lookbackRange, planSweep, stallAlertId, sweepDocuments, sweepPendingGraceMs } from "../../functions/core/sweep-rules.ts";
import { DEFAULT_TRANSACTION_TIMEOUT_MS, publishGraceMsFor } from "../../functions/lib/completion-tracker.ts";
import { executionLogRowOf } from "../../functions/core/phase-state.ts";
import { completion, docWith, MINUTE, PIPELINE, transitionOf } from "./support.ts";

const TZ = "America/New_York";
// The latching orchestrator's own grace, as deployed (about 82 s).
const PUBLISH_GRACE_MS = publishGraceMsFor(DEFAULT_TRANSACTION_TIMEOUT_MS);
const POLICY = { pendingGraceMinutes: 2, publishGraceMs: PUBLISH_GRACE_MS };
const PHASE4 = transitionOf(PIPELINE, "phase4-to-phase5");
const PHASE3 = transitionOf(PIPELINE, "phase3-to-phase4");
const PHASE2 = transitionOf(PIPELINE, "phase2-to-phase3");
const PHASE2_DEADLINE: Transition = {
  ...PHASE2,
  rule: PHASE2.rule.kind === "all_complete" ? { ...PHASE2.rule, deadline: { ...PHASE2.rule.deadline, enabled: true } } : PHASE2.rule,
};
const PHASE4_NAMES = PHASE4.processors.map((p) => p.name);

// A past game date judged the evening after: phase 3 runs overnight mode, the others latch "daily".
const GAME_DATE = "2026-01-15";
const T0 = new Date("2026-01-16T08:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);

function phase4Doc(completeCount: number) {
  return docWith(PHASE4, GAME_DATE, PHASE4_NAMES.slice(0, completeCount).map((name, i) => completion(name, GAME_DATE, at(i === 0 ? 0 : 1))), T0);
}

describe("sweep rules: planSweep", () => {
  it("phase 4 with 4 of 5: waits until 1 h after the first completion, then latches tier 1 (the next deadline says when)", () => {
    const doc = phase4Doc(4);
    const before = planSweep(doc, PHASE4, at(59), TZ, POLICY);
    assert.equal(before.latch, false);
    assert.equal(before.decision?.reason, "waiting");
    assert.equal(before.nextDeadline, at(60).toISOString());
    const due = planSweep(doc, PHASE4, at(60), TZ, POLICY);
    assert.equal(due.latch, true);
    assert.equal(due.decision?.reason, "tier_1_60min_4of5");
    assert.deepEqual(due.decision?.missing, [PHASE4_NAMES[4]]);
    assert.equal(due.stall, null);
  });

  it("phase 4 with 3 of 5: not at 1 h, tier 2 at 2 h", () => {
    const doc = phase4Doc(3);
    const oneHour = planSweep(doc, PHASE4, at(60), TZ, POLICY);
    assert.equal(oneHour.latch, false);
    assert.equal(oneHour.nextDeadline, at(120).toISOString());
    const twoHours = planSweep(doc, PHASE4, at(120), TZ, POLICY);
    assert.equal(twoHours.latch, true);
    assert.match(twoHours.decision!.reason, /^tier_2_120min_3of5$/);
  });

  it("phase 2 deadline (when enabled): latches at 30 min with every critical processor, never with one missing", () => {
    const critical = PHASE2_DEADLINE.rule.kind === "all_complete" ? PHASE2_DEADLINE.rule.deadline.critical : [];
    const withCritical = docWith(PHASE2_DEADLINE, GAME_DATE, critical.map((n) => completion(n, GAME_DATE, at(0))), T0);
    assert.equal(planSweep(withCritical, PHASE2_DEADLINE, at(29), TZ, POLICY).latch, false);
    const due = planSweep(withCritical, PHASE2_DEADLINE, at(30), TZ, POLICY);
    assert.equal(due.latch, true);
    assert.equal(due.decision?.reason, "deadline_critical_complete");
    const withoutOne = docWith(PHASE2_DEADLINE, GAME_DATE, critical.slice(1).map((n) => completion(n, GAME_DATE, at(0))), T0);
    const late = planSweep(withoutOne, PHASE2_DEADLINE, at(600), TZ, POLICY);
    assert.equal(late.latch, false);
    assert.equal(late.nextDeadline, null, "time alone can never fire it");
    // The default pipeline keeps the deadline off: the sweeper must not invent one.
    assert.equal(planSweep(withCritical, PHASE2, at(600), TZ, POLICY).latch, false);
  });

  it("a pending trigger is re-published only after the grace period; a published one never", () => {
    const doc = phase4Doc(5);
    const decision = decideFor(doc, PHASE4, at(5), TZ);
    const pending = latchTrigger(doc, PHASE4, decision, latchCauseOf(doc), at(5));
    assert.equal(pending.trigger?.state, "pending");
    assert.equal(planSweep(pending, PHASE4, at(6), TZ, POLICY).republish, false, "the orchestrator may still be publishing");
    const late = planSweep(pending, PHASE4, at(7), TZ, POLICY);
    assert.equal(late.republish, true);
    assert.equal(late.latch, false);
    assert.equal(late.stall, null);
    const published = markPublished(pending, "m1", at(6));
    assert.equal(planSweep(published, PHASE4, at(6000), TZ, POLICY).republish, false);
  });

  it("the sweeper's grace is never shorter than the latching call's publish grace, whatever is configured", () => {
    assert.ok(PUBLISH_GRACE_MS > MINUTE && PUBLISH_GRACE_MS < 2 * MINUTE, `publish grace ${PUBLISH_GRACE_MS} ms`);
    const doc = phase4Doc(5);
    const pending = latchTrigger(doc, PHASE4, decideFor(doc, PHASE4, at(5), TZ), latchCauseOf(doc), at(5));
    const oneMinute = { pendingGraceMinutes: 1, publishGraceMs: PUBLISH_GRACE_MS };
    const latchedAt = at(5).getTime();
    assert.equal(planSweep(pending, PHASE4, at(6), TZ, oneMinute).republish, false, "1 min configured: the latching call may still be publishing");
    assert.equal(planSweep(pending, PHASE4, new Date(latchedAt + PUBLISH_GRACE_MS - 1), TZ, oneMinute).republish, false);
    assert.equal(planSweep(pending, PHASE4, new Date(latchedAt + PUBLISH_GRACE_MS), TZ, oneMinute).republish, true);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 * 60 }), fc.integer({ min: 0, max: 10 * MINUTE }), (minutes, publishGraceMs) => {
        const grace = sweepPendingGraceMs({ pendingGraceMinutes: minutes, publishGraceMs });
        return grace >= publishGraceMs && grace >= minutes * MINUTE && (grace === publishGraceMs || grace === minutes * MINUTE);
      }),
    );
  });

  it("a pending trigger whose latching call recorded a refused publish is re-published at once (the tracker's republishDue)", () => {
    const doc = phase4Doc(5);
    const pending = latchTrigger(doc, PHASE4, decideFor(doc, PHASE4, at(5), TZ), latchCauseOf(doc), at(5));
    const refused = markLatchIncomplete(pending, { publishFailed: true, rowsOwedBy: null }, at(5));
    assert.ok(refused.trigger?.publishFailedAt);
    assert.equal(planSweep(pending, PHASE4, at(5), TZ, POLICY).republish, false);
    assert.equal(planSweep(refused, PHASE4, at(5), TZ, POLICY).republish, true);
    assert.equal(planSweep(markPublished(refused, "m1", at(5)), PHASE4, at(5), TZ, POLICY).republish, false, "published meanwhile: nothing to do");
  });

  it("stall: after stallAfterMinutes without a trigger, naming the missing processors; not before", () => {
    // Only non-counting reports: no tier can ever fire, so the phase sits there silently.
    const doc = docWith(PHASE4, GAME_DATE, [completion(PHASE4_NAMES[0]!, GAME_DATE, at(0), { status: "failed" })], T0);
    assert.equal(planSweep(doc, PHASE4, at(PHASE4.stallAfterMinutes - 1), TZ, POLICY).stall, null);
    const stalled = planSweep(doc, PHASE4, at(PHASE4.stallAfterMinutes), TZ, POLICY);
    assert.deepEqual(stalled.stall, {
      missing: [...PHASE4_NAMES].sort(),
      minutesSinceFirstCompletion: PHASE4.stallAfterMinutes,
      stallAfterMinutes: PHASE4.stallAfterMinutes,
    });
    assert.equal(stallAlertId(stalled), "stall__phase4-to-phase5__2026-01-15__daily");
  });

  it("a same-day phase 3 latch judged after midnight: no latch (another latch's mode), stall names the same-day set", () => {
    const gameDate = "2026-01-16";
    const sameDayNow = new Date("2026-01-16T15:00:00.000Z"); // 10:00 in New York
    const doc = docWith(PHASE3, gameDate, [completion("upcoming_team_game_context", gameDate, sameDayNow)], sameDayNow);
    assert.equal(doc.latchMode, "same_day");
    const nextDay = new Date("2026-01-17T12:00:00.000Z");
    const plan = planSweep(doc, PHASE3, nextDay, TZ, POLICY);
    assert.equal(plan.decision?.latchMode, "overnight");
    assert.equal(plan.latch, false);
    assert.deepEqual(plan.stall?.missing, ["upcoming_player_game_context"]);
  });

  it("property: the next deadline is exactly when the plan starts to latch (phase 4 tiers, any counts and times)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 300 }), (count, minutes) => {
        const doc = phase4Doc(count);
        const plan = planSweep(doc, PHASE4, at(minutes), TZ, POLICY);
        if (plan.latch || plan.nextDeadline === null) return;
        const due = new Date(plan.nextDeadline);
        assert.equal(planSweep(doc, PHASE4, due, TZ, POLICY).latch, true);
        assert.equal(planSweep(doc, PHASE4, new Date(due.getTime() - 1), TZ, POLICY).latch, false);
      }),
    );
  });
});

describe("sweep rules: helpers", () => {
  it("latchCauseOf carries the correlation id of the latest counting completion", () => {
    const doc = docWith(PHASE4, GAME_DATE, [
      completion(PHASE4_NAMES[0]!, GAME_DATE, at(0), { correlationId: "early" }),
      completion(PHASE4_NAMES[1]!, GAME_DATE, at(9), { correlationId: "late" }),
      completion(PHASE4_NAMES[2]!, GAME_DATE, at(20), { correlationId: "failed-later", status: "failed" }),
    ], T0);
    assert.equal(latchCauseOf(doc).correlationId, "late");
  });

  it("executionLogRowOf: what the latched trigger said, published by the scheduled job", () => {
    const doc = phase4Doc(4);
    const latched = latchTrigger(doc, PHASE4, decideFor(doc, PHASE4, at(60), TZ), latchCauseOf(doc), at(60));
    const row = executionLogRowOf(latched, PHASE4, { functionName: "phase-sweeper", codeHash: "h" });
    assert.equal(row.trigger_id, latched.trigger!.triggerId);
    assert.deepEqual(row.missing_processors, [PHASE4_NAMES[4]]);
    assert.deepEqual(row.complete_processors, [...PHASE4_NAMES.slice(0, 4)].sort());
    assert.equal(row.triggered_at, at(60).toISOString());
    assert.equal(row.function_name, "phase-sweeper");
    assert.equal(row.degraded, true);
    assert.throws(() => executionLogRowOf(doc, PHASE4, { functionName: "x", codeHash: "h" }), /no trigger/);
  });

  it("lookbackRange covers N days back through tomorrow, in the pipeline's zone", () => {
    // 02:00 UTC on the 16th is still the 15th in New York.
    assert.deepEqual(lookbackRange(new Date("2026-01-16T02:00:00Z"), TZ, 3), { fromDate: "2026-01-12", toDate: "2026-01-16" });
    assert.throws(() => lookbackRange(T0, TZ, -1), RangeError);
  });
});

describe("sweep rules: sweepDocuments (look-back plus pending triggers of any date)", () => {
  const doc = (gameDate: string, transitionId = "t", latchMode = "daily") => ({ transitionId, gameDate, latchMode });

  it("keeps every look-back document, adds each pending one outside it once, and counts those", () => {
    const inLookback = [doc("2026-01-14"), doc("2026-01-15")];
    const pending = [doc("2026-01-15"), doc("2026-01-02"), doc("2026-01-02"), doc("2026-01-02", "t", "overnight")];
    const { docs, beyondLookback } = sweepDocuments(inLookback, pending);
    assert.deepEqual(docs, [...inLookback, doc("2026-01-02"), doc("2026-01-02", "t", "overnight")]);
    assert.equal(beyondLookback, 2);
  });

  it("property: the result is the union of both lists without repeats, the look-back first", () => {
    const docArb = fc.record({ transitionId: fc.constantFrom("a", "b"), gameDate: fc.constantFrom("2026-01-01", "2026-01-02", "2026-01-03"), latchMode: fc.constantFrom("daily", "overnight") });
    const key = (d: { transitionId: string; gameDate: string; latchMode: string }) => `${d.transitionId}|${d.gameDate}|${d.latchMode}`;
    fc.assert(
      fc.property(fc.uniqueArray(docArb, { selector: key }), fc.array(docArb), (inLookback, pending) => {
        const { docs, beyondLookback } = sweepDocuments(inLookback, pending);
        const keys = docs.map(key);
        assert.equal(new Set(keys).size, keys.length);
        assert.deepEqual(new Set(keys), new Set([...inLookback, ...pending].map(key)));
        assert.deepEqual(docs.slice(0, inLookback.length), inLookback);
        assert.equal(beyondLookback, docs.length - inLookback.length);
      }),
    );
  });
});

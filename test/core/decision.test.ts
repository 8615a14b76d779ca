import assert from "node:assert/strict";
import { decide, foldEntries, mergeEntry, nextDeadline } from "../../functions/core/decision.ts";
import type { Decision, DecisionInput, PhaseEntry } from "../../functions/core/decision-types.ts";
import { resolvePipeline, transitionById } from "../../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import type { CompletionStatus, Transition, TransitionConfig, TriggerRule } from "../../functions/core/pipeline-types.ts";

const DEFAULTS = resolvePipeline(DEFAULT_PIPELINE);
const PHASE2 = transitionById(DEFAULTS, "phase2-to-phase3");
const PHASE3 = transitionById(DEFAULTS, "phase3-to-phase4");
const PHASE4 = transitionById(DEFAULTS, "phase4-to-phase5");
const PHASE5 = transitionById(DEFAULTS, "phase5-to-phase6");

/** A default transition with another rule (or other processors), resolved like the real ones. */
function customTransition(base: Transition, change: Partial<TransitionConfig>): Transition {
  const config: TransitionConfig = { ...structuredClone(base), ...change };
  const [resolved] = resolvePipeline({ ...DEFAULT_PIPELINE, transitions: [config] }).transitions;
  assert.ok(resolved);
  return resolved;
}

const FIRST = "2026-01-15T15:00:00.000Z"; // 10:00 in New York
const plus = (iso: string, h: number, m = 0, s = 0): Date => new Date(Date.parse(iso) + ((h * 60 + m) * 60 + s) * 1000);

function entry(processor: string, status: CompletionStatus = "success", completionPct?: number): PhaseEntry {
  const e: PhaseEntry = { processor, status, completedAt: FIRST, recordedAt: FIRST };
  if (completionPct !== undefined) e.completionPct = completionPct;
  return e;
}

const entriesOf = (...list: PhaseEntry[]): Record<string, PhaseEntry> => foldEntries(list);
const successes = (...names: string[]): Record<string, PhaseEntry> => entriesOf(...names.map((n) => entry(n)));

function input(transition: Transition, entries: Record<string, PhaseEntry>, over: Partial<DecisionInput> = {}): DecisionInput {
  return { transition, gameDate: "2026-01-15", now: plus(FIRST, 0, 5), entries, firstCompletionAt: FIRST, ...over };
}

const names = (t: Transition): string[] => t.processors.map((p) => p.name);
const without = (all: string[], ...drop: string[]): string[] => all.filter((n) => !drop.includes(n));
const withRule = (base: Transition, rule: TriggerRule): Transition => customTransition(base, { rule });

function assertNoTrigger(d: Decision, reason = "waiting"): void {
  assert.equal(d.trigger, false, `expected no trigger, got ${d.reason}`);
  assert.equal(d.reason, reason);
  assert.equal(d.degraded, false);
}

describe("decide: all_complete (phase 2 -> 3)", () => {
  const all = names(PHASE2);
  const critical = ["p2_nbacom_boxscores", "p2_nbacom_gamebook_pdf", "p2_odds_game_lines"];
  const deadlineOn = (minutes = 30): Transition =>
    withRule(PHASE2, { kind: "all_complete", deadline: { enabled: true, afterFirstCompletionMinutes: minutes, critical } });

  it("triggers when every expected processor is complete (success or partial)", () => {
    const entries = entriesOf(...all.map((n, i) => entry(n, i % 2 === 0 ? "success" : "partial")));
    const d = decide(input(PHASE2, entries));
    assert.equal(d.trigger, true);
    assert.equal(d.reason, "all_complete");
    assert.equal(d.degraded, false);
    assert.equal(d.latchMode, "daily");
    assert.deepEqual(d.complete, [...all].sort());
    assert.deepEqual(d.expected, [...all].sort());
    assert.deepEqual(d.missing, []);
  });

  it("waits while one is missing and names it", () => {
    const d = decide(input(PHASE2, successes(...without(all, "p2_odds_player_props"))));
    assertNoTrigger(d);
    assert.deepEqual(d.missing, ["p2_odds_player_props"]);
  });

  for (const status of ["no_data", "failed", "skipped"] as const) {
    it(`does not count status ${status}`, () => {
      const entries = entriesOf(...without(all, "p2_bigdataball_pbp").map((n) => entry(n)), entry("p2_bigdataball_pbp", status));
      const d = decide(input(PHASE2, entries));
      assertNoTrigger(d);
      assert.deepEqual(d.missing, ["p2_bigdataball_pbp"]);
      assert.ok(!d.complete.includes("p2_bigdataball_pbp"));
    });
  }

  it("ignores and reports names the transition does not expect", () => {
    const entries = successes(...without(all, "p2_nbacom_boxscores"), "NbacPlayerBoxscoreProcessor", "player_game_summary");
    const d = decide(input(PHASE2, entries));
    assertNoTrigger(d);
    assert.deepEqual(d.ignored, ["NbacPlayerBoxscoreProcessor", "player_game_summary"]);
    assert.deepEqual(d.missing, ["p2_nbacom_boxscores"]);
    assert.equal(d.complete.length, 4);
  });

  it("with the deadline off (the default) never triggers on critical alone", () => {
    const d = decide(input(PHASE2, successes(...critical), { now: plus(FIRST, 12) }));
    assertNoTrigger(d);
  });

  it("with the deadline on: critical complete triggers at 30:00, not at 29:59, degraded, naming the missing", () => {
    const t = deadlineOn();
    assertNoTrigger(decide(input(t, successes(...critical), { now: plus(FIRST, 0, 29, 59) })));
    const d = decide(input(t, successes(...critical), { now: plus(FIRST, 0, 30) }));
    assert.equal(d.trigger, true);
    assert.equal(d.reason, "deadline_critical_complete");
    assert.equal(d.degraded, true);
    assert.deepEqual(d.missing, ["p2_bigdataball_pbp", "p2_odds_player_props"]);
    assert.deepEqual(d.complete, critical);
  });

  it("with a 60-minute deadline: 59:59 waits, 1:00:00 triggers", () => {
    const t = deadlineOn(60);
    assertNoTrigger(decide(input(t, successes(...critical), { now: plus(FIRST, 0, 59, 59) })));
    assert.equal(decide(input(t, successes(...critical), { now: plus(FIRST, 1) })).reason, "deadline_critical_complete");
  });

  it("with the deadline on but a critical processor missing, waits however late", () => {
    const entries = successes("p2_bigdataball_pbp", "p2_odds_player_props", "p2_odds_game_lines", "p2_nbacom_gamebook_pdf");
    assertNoTrigger(decide(input(deadlineOn(), entries, { now: plus(FIRST, 48) })));
  });

  it("with the deadline on but no first completion recorded, waits", () => {
    assertNoTrigger(decide(input(deadlineOn(), successes(...critical), { now: plus(FIRST, 5), firstCompletionAt: undefined })));
  });

  it("prefers all_complete over the deadline once everything is in", () => {
    const d = decide(input(deadlineOn(), successes(...all), { now: plus(FIRST, 5) }));
    assert.equal(d.reason, "all_complete");
    assert.equal(d.degraded, false);
  });

  it("never triggers on an empty processor list", () => {
    const t = customTransition(PHASE2, { processors: [] });
    assertNoTrigger(decide(input(t, successes("anything"))), "no_expected_processors");
  });
});

describe("decide: mode_aware (phase 3 -> 4)", () => {
  const all = names(PHASE3);
  const OVERNIGHT_NOW = new Date("2026-01-16T17:00:00Z"); // game date 2026-01-15 is yesterday
  const SAME_DAY_NOW = new Date("2026-01-15T17:00:00Z");
  const TOMORROW_NOW = new Date("2026-01-14T17:00:00Z");

  it("overnight: all five complete -> all_complete, latch per mode", () => {
    const d = decide(input(PHASE3, successes(...all), { now: OVERNIGHT_NOW }));
    assert.equal(d.trigger, true);
    assert.equal(d.reason, "all_complete");
    assert.equal(d.mode, "overnight");
    assert.equal(d.latchMode, "overnight");
    assert.equal(d.degraded, false);
  });

  it("overnight: both critical plus one optional is 3/5 = 60% -> critical_plus_majority_60pct", () => {
    const entries = successes("player_game_summary", "upcoming_player_game_context", "team_defense_game_summary");
    const d = decide(input(PHASE3, entries, { now: OVERNIGHT_NOW }));
    assert.equal(d.trigger, true);
    assert.equal(d.reason, "critical_plus_majority_60pct");
    assert.equal(d.degraded, true);
    assert.deepEqual(d.missing, ["team_offense_game_summary", "upcoming_team_game_context"]);
  });

  it("overnight: four of five with the critical ones -> 80pct", () => {
    const d = decide(input(PHASE3, successes(...without(all, "upcoming_team_game_context")), { now: OVERNIGHT_NOW }));
    assert.equal(d.reason, "critical_plus_majority_80pct");
  });

  it("overnight: the critical ones alone (2/5 = 40%) wait", () => {
    const entries = successes("player_game_summary", "upcoming_player_game_context");
    assertNoTrigger(decide(input(PHASE3, entries, { now: OVERNIGHT_NOW })));
  });

  it("overnight: four of five without a critical one wait", () => {
    const d = decide(input(PHASE3, successes(...without(all, "player_game_summary")), { now: OVERNIGHT_NOW }));
    assertNoTrigger(d);
    assert.deepEqual(d.missing, ["player_game_summary"]);
  });

  it("overnight: a failed critical processor does not count", () => {
    const entries = entriesOf(
      entry("player_game_summary", "failed"),
      ...without(all, "player_game_summary").map((n) => entry(n)),
    );
    assertNoTrigger(decide(input(PHASE3, entries, { now: OVERNIGHT_NOW })));
  });

  for (const [mode, now] of [
    ["same_day", SAME_DAY_NOW],
    ["tomorrow", TOMORROW_NOW],
  ] as const) {
    it(`${mode}: both upcoming contexts -> all_complete; overnight-only names are ignored`, () => {
      const entries = successes("upcoming_player_game_context", "upcoming_team_game_context", "player_game_summary");
      const d = decide(input(PHASE3, entries, { now }));
      assert.equal(d.reason, "all_complete");
      assert.equal(d.mode, mode);
      assert.equal(d.latchMode, mode);
      assert.deepEqual(d.expected, ["upcoming_player_game_context", "upcoming_team_game_context"]);
      assert.deepEqual(d.ignored, ["player_game_summary"]);
    });

    it(`${mode}: the critical one alone is 1/2 = 50% < 60% and waits`, () => {
      const d = decide(input(PHASE3, successes("upcoming_player_game_context", "player_game_summary"), { now }));
      assertNoTrigger(d);
      assert.deepEqual(d.missing, ["upcoming_team_game_context"]);
    });
  }

  describe("majority boundary: 59/100 vs 60/100", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `proc_${String(i).padStart(3, "0")}`);
    const sets = { expected: hundred, critical: hundred.slice(0, 1), optional: hundred.slice(1) };
    const t = customTransition(PHASE3, {
      processors: hundred.map((name) => ({ name, aliases: [], outputTables: [] })),
      rule: { kind: "mode_aware", majorityPct: 60, modes: { overnight: sets, same_day: sets, tomorrow: sets } },
    });

    it("59 of 100 (critical included) waits", () => {
      assertNoTrigger(decide(input(t, successes(...hundred.slice(0, 59)), { now: OVERNIGHT_NOW })));
    });

    it("60 of 100 triggers with reason critical_plus_majority_60pct", () => {
      const d = decide(input(t, successes(...hundred.slice(0, 60)), { now: OVERNIGHT_NOW }));
      assert.equal(d.reason, "critical_plus_majority_60pct");
      assert.equal(d.missing.length, 40);
    });

    it("60 of 100 without the critical one waits", () => {
      assertNoTrigger(decide(input(t, successes(...hundred.slice(1, 61)), { now: OVERNIGHT_NOW })));
    });

    it("names the actual percentage, rounded down (2/3 -> 66pct)", () => {
      const three = hundred.slice(0, 3);
      const small = { expected: three, critical: three.slice(0, 1), optional: three.slice(1) };
      const t3 = customTransition(t, {
        rule: { kind: "mode_aware", majorityPct: 60, modes: { overnight: small, same_day: small, tomorrow: small } },
      });
      assert.equal(decide(input(t3, successes(...three.slice(0, 2)), { now: OVERNIGHT_NOW })).reason, "critical_plus_majority_66pct");
    });

    it("never rounds a share up to reach the threshold (2/3 = 66.7% is below 67%)", () => {
      const three = hundred.slice(0, 3);
      const small = { expected: three, critical: three.slice(0, 1), optional: three.slice(1) };
      const t3 = customTransition(t, {
        rule: { kind: "mode_aware", majorityPct: 67, modes: { overnight: small, same_day: small, tomorrow: small } },
      });
      assertNoTrigger(decide(input(t3, successes(...three.slice(0, 2)), { now: OVERNIGHT_NOW })));
    });
  });

  it("New York midnight: 23:59:59 is same_day, 00:00:00 is overnight, with another latch and other sets", () => {
    const entries = successes("upcoming_player_game_context", "upcoming_team_game_context");
    const before = decide(input(PHASE3, entries, { now: new Date("2026-01-16T04:59:59Z") }));
    assert.equal(before.mode, "same_day");
    assert.equal(before.reason, "all_complete");
    const after = decide(input(PHASE3, entries, { now: new Date("2026-01-16T05:00:00Z") }));
    assert.equal(after.mode, "overnight");
    assert.equal(after.latchMode, "overnight");
    assertNoTrigger(after);
    assert.deepEqual(after.missing, ["player_game_summary", "team_defense_game_summary", "team_offense_game_summary"]);
  });

  it("DST days: the mode depends on the offset in force (2026-03-08 04:30Z vs 05:30Z, 2026-11-01 03:59:59Z vs 04:00Z)", () => {
    const entries = successes("upcoming_player_game_context");
    assert.equal(decide(input(PHASE3, entries, { gameDate: "2026-03-08", now: new Date("2026-03-08T04:30:00Z") })).mode, "tomorrow");
    assert.equal(decide(input(PHASE3, entries, { gameDate: "2026-03-08", now: new Date("2026-03-08T05:30:00Z") })).mode, "same_day");
    assert.equal(decide(input(PHASE3, entries, { gameDate: "2026-11-01", now: new Date("2026-11-01T03:59:59Z") })).mode, "tomorrow");
    assert.equal(decide(input(PHASE3, entries, { gameDate: "2026-11-01", now: new Date("2026-11-01T04:00:00Z") })).mode, "same_day");
  });

  it("judges the date in the time zone it is given", () => {
    const now = new Date("2026-01-15T20:00:00Z"); // the 16th in Tokyo
    assert.equal(decide(input(PHASE3, {}, { now })).mode, "same_day");
    assert.equal(decide(input(PHASE3, {}, { now, timeZone: "Asia/Tokyo" })).mode, "overnight");
  });
});

describe("decide: tiered (phase 4 -> 5)", () => {
  const all = names(PHASE4);
  const four = without(all, "ml_feature_store");
  const three = without(all, "ml_feature_store", "player_daily_cache");
  const one = ["player_shot_zone_analysis"];

  it("all five trigger at once, even before any tier and without a first-completion time", () => {
    const d = decide(input(PHASE4, successes(...all), { now: plus(FIRST, 0, 1), firstCompletionAt: undefined }));
    assert.equal(d.reason, "all_complete");
    assert.equal(d.degraded, false);
    assert.equal(d.tier, undefined);
  });

  it("tier 1: four complete wait at 59:59 and trigger at 1:00:00", () => {
    assertNoTrigger(decide(input(PHASE4, successes(...four), { now: plus(FIRST, 0, 59, 59) })));
    const d = decide(input(PHASE4, successes(...four), { now: plus(FIRST, 1) }));
    assert.equal(d.trigger, true);
    assert.equal(d.reason, "tier_1_60min_4of5");
    assert.equal(d.tier, 1);
    assert.equal(d.degraded, true);
    assert.deepEqual(d.missing, ["ml_feature_store"]);
  });

  it("tier 2: three complete wait at 1:00:00 and 1:59:59, trigger at 2:00:00", () => {
    assertNoTrigger(decide(input(PHASE4, successes(...three), { now: plus(FIRST, 1) })));
    assertNoTrigger(decide(input(PHASE4, successes(...three), { now: plus(FIRST, 1, 59, 59) })));
    const d = decide(input(PHASE4, successes(...three), { now: plus(FIRST, 2) }));
    assert.equal(d.reason, "tier_2_120min_3of5");
    assert.equal(d.tier, 2);
  });

  it("the highest reached and satisfied tier fires (four complete at 2:00:00 -> tier 2)", () => {
    assert.equal(decide(input(PHASE4, successes(...four), { now: plus(FIRST, 2) })).reason, "tier_2_120min_4of5");
  });

  it("tier 3: any one complete triggers at 4:00:00, not at 3:59:59", () => {
    assertNoTrigger(decide(input(PHASE4, successes(...one), { now: plus(FIRST, 3, 59, 59) })));
    assert.equal(decide(input(PHASE4, successes(...one), { now: plus(FIRST, 4) })).reason, "tier_3_240min_1of5");
  });

  it("nothing counting never triggers, however late", () => {
    const entries = entriesOf(...all.map((n) => entry(n, "failed")));
    const d = decide(input(PHASE4, entries, { now: plus(FIRST, 30) }));
    assertNoTrigger(d);
    assert.deepEqual(d.complete, []);
  });

  it("without a first-completion time no tier is reached", () => {
    assertNoTrigger(decide(input(PHASE4, successes(...four), { now: plus(FIRST, 10), firstCompletionAt: undefined })));
  });

  it("a first completion in the future (clock skew) reaches no tier", () => {
    assertNoTrigger(decide(input(PHASE4, successes(...four), { now: plus(FIRST, -2) })));
  });

  it("unexpected names do not make up a tier's count", () => {
    const entries = successes(...three, "TeamDefenseZoneAnalysisProcessor");
    const d = decide(input(PHASE4, entries, { now: plus(FIRST, 1, 30) }));
    assertNoTrigger(d);
    assert.deepEqual(d.ignored, ["TeamDefenseZoneAnalysisProcessor"]);
  });
});

describe("decide: completion_pct (phase 5 -> 6)", () => {
  const coordinator = "prediction_coordinator";
  const withPct = (status: CompletionStatus, pct?: number): Record<string, PhaseEntry> =>
    entriesOf(entry(coordinator, status, pct));

  it("success at 92% -> completion_pct_92, not degraded", () => {
    const d = decide(input(PHASE5, withPct("success", 92)));
    assert.equal(d.trigger, true);
    assert.equal(d.reason, "completion_pct_92");
    assert.equal(d.degraded, false);
    assert.deepEqual(d.complete, [coordinator]);
    assert.equal(d.latchMode, "daily");
  });

  it("partial at exactly 80% triggers; 79% and 79.99% do not", () => {
    assert.equal(decide(input(PHASE5, withPct("partial", 80))).reason, "completion_pct_80");
    assertNoTrigger(decide(input(PHASE5, withPct("success", 79))), "completion_pct_below_min");
    assertNoTrigger(decide(input(PHASE5, withPct("success", 79.99))), "completion_pct_below_min");
  });

  it("rounds the percentage in the reason down (92.7 -> 92)", () => {
    assert.equal(decide(input(PHASE5, withPct("success", 92.7))).reason, "completion_pct_92");
  });

  it("a non-counting status waits even at 100%", () => {
    for (const status of ["failed", "no_data", "skipped"] as const) {
      const d = decide(input(PHASE5, withPct(status, 100)));
      assertNoTrigger(d);
      assert.deepEqual(d.missing, [coordinator]);
    }
  });

  it("no report yet waits", () => {
    assertNoTrigger(decide(input(PHASE5, {})));
  });

  it("a counting report without a usable percentage is named, not guessed", () => {
    assertNoTrigger(decide(input(PHASE5, withPct("success"))), "completion_pct_missing");
    assertNoTrigger(decide(input(PHASE5, withPct("success", Number.NaN))), "completion_pct_missing");
  });

  it("other names are ignored, even at 100%", () => {
    const d = decide(input(PHASE5, entriesOf(entry("PredictionCoordinator", "success", 100))));
    assertNoTrigger(d);
    assert.deepEqual(d.ignored, ["PredictionCoordinator"]);
  });
});

describe("decide: malformed input fails loudly", () => {
  it("throws RangeError for a bad game date, first-completion time or zone", () => {
    assert.throws(() => decide(input(PHASE4, {}, { gameDate: "2026-02-30" })), RangeError);
    assert.throws(() => decide(input(PHASE4, successes("player_daily_cache"), { firstCompletionAt: "soon" })), RangeError);
    assert.throws(() => decide(input(PHASE4, {}, { timeZone: "Nowhere/Land" })), RangeError);
  });
});

describe("nextDeadline", () => {
  const four = without(names(PHASE4), "ml_feature_store");

  it("tiered: names the next tier the current entries satisfy", () => {
    assert.equal(nextDeadline(input(PHASE4, successes(...four), { now: plus(FIRST, 0, 30) }))?.toISOString(), plus(FIRST, 1).toISOString());
    const two = four.slice(0, 2);
    // Two complete satisfy neither tier 1 (4) nor tier 2 (3): the next change is tier 3 at 4 h.
    assert.equal(nextDeadline(input(PHASE4, successes(...two), { now: plus(FIRST, 0, 30) }))?.toISOString(), plus(FIRST, 4).toISOString());
  });

  it("is null when the decision already triggers or time alone cannot help", () => {
    assert.equal(nextDeadline(input(PHASE4, successes(...four), { now: plus(FIRST, 1) })), null);
    assert.equal(nextDeadline(input(PHASE4, entriesOf(entry("player_daily_cache", "failed")))), null);
    assert.equal(nextDeadline(input(PHASE4, successes(...four), { firstCompletionAt: undefined })), null);
    assert.equal(nextDeadline(input(PHASE5, entriesOf(entry("prediction_coordinator", "success", 50)))), null);
    assert.equal(nextDeadline(input(PHASE2, successes("p2_odds_game_lines", "p2_nbacom_gamebook_pdf", "p2_nbacom_boxscores"))), null);
  });

  it("all_complete with the deadline on: the deadline, only when the critical set is complete", () => {
    const critical = ["p2_odds_game_lines", "p2_nbacom_gamebook_pdf", "p2_nbacom_boxscores"];
    const t = withRule(PHASE2, { kind: "all_complete", deadline: { enabled: true, afterFirstCompletionMinutes: 30, critical } });
    assert.equal(nextDeadline(input(t, successes(...critical)))?.toISOString(), plus(FIRST, 0, 30).toISOString());
    assert.equal(nextDeadline(input(t, successes(...critical.slice(1)))), null);
  });

  it("mode_aware: null, because a mode change at midnight opens another latch instead of firing this one", () => {
    const entries = successes("player_game_summary", "upcoming_player_game_context", "team_defense_game_summary");
    // Same day these wait (1/2 of the same-day sets); the overnight latch would fire on them, but it is another latch.
    const sameDay = input(PHASE3, entries, { gameDate: "2026-03-08", now: new Date("2026-03-08T17:00:00Z") });
    assertNoTrigger(decide(sameDay));
    assert.equal(decide({ ...sameDay, now: new Date("2026-03-09T04:00:00Z") }).latchMode, "overnight");
    assert.equal(nextDeadline(sameDay), null);
  });
});

describe("mergeEntry / foldEntries", () => {
  const at = (iso: string, status: CompletionStatus, completionPct?: number): PhaseEntry => {
    const e: PhaseEntry = { processor: "prediction_coordinator", status, completedAt: iso, recordedAt: iso };
    if (completionPct !== undefined) e.completionPct = completionPct;
    return e;
  };

  it("a later counting report supersedes an earlier one (70% then 92%)", () => {
    const early = at("2026-01-15T10:00:00Z", "success", 70);
    const late = at("2026-01-15T11:00:00Z", "success", 92);
    assert.equal(mergeEntry(early, late), late);
    assert.equal(mergeEntry(late, early), late);
  });

  it("a later failure does not undo an earlier success; a later success replaces a failure", () => {
    const ok = at("2026-01-15T10:00:00Z", "success");
    const failedLater = at("2026-01-15T11:00:00Z", "failed");
    assert.equal(mergeEntry(ok, failedLater), ok);
    const failedEarlier = at("2026-01-15T09:00:00Z", "failed");
    assert.equal(mergeEntry(failedEarlier, ok), ok);
  });

  it("compares instants, not strings, across offsets", () => {
    const utc = at("2026-01-15T10:00:00Z", "partial");
    const laterInNewYork = at("2026-01-15T05:30:00-05:00", "partial"); // 10:30Z
    assert.equal(mergeEntry(utc, laterInNewYork), laterInNewYork);
  });

  it("refuses to merge entries of two processors", () => {
    assert.throws(() => mergeEntry(entry("a"), entry("b")), /cannot merge/);
  });

  it("foldEntries keys entries by processor", () => {
    const folded = foldEntries([entry("a", "failed"), entry("b"), entry("a")]);
    assert.deepEqual(Object.keys(folded).sort(), ["a", "b"]);
    assert.equal(folded.a?.status, "success");
  });
});

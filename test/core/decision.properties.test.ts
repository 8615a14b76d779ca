// Properties of the decision over generated entry sets, for every default transition.
import assert from "node:assert/strict";
import fc from "fast-check";
import { decide, foldEntries, isCounting, mergeEntry, nextDeadline } from "../../functions/core/decision.ts";
import type { DecisionInput, PhaseEntry } from "../../functions/core/decision-types.ts";
import { resolvePipeline } from "../../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import { COMPLETION_STATUSES, type CompletionStatus, type Transition } from "../../functions/core/pipeline-types.ts";
import { startOfLocalDay } from "../../functions/core/run-mode.ts";

const DEFAULT_TRANSITIONS = resolvePipeline(DEFAULT_PIPELINE).transitions;
/** Phase 2's optional deadline is off by default; its time-dependent path deserves the same checks. */
const PHASE2_WITH_DEADLINE = DEFAULT_TRANSITIONS.filter((t) => t.rule.kind === "all_complete").map(
  (t): Transition => ({
    ...t,
    id: `${t.id}+deadline`,
    rule: t.rule.kind === "all_complete" ? { ...t.rule, deadline: { ...t.rule.deadline, enabled: true } } : t.rule,
  }),
);
const TRANSITIONS = [...DEFAULT_TRANSITIONS, ...PHASE2_WITH_DEADLINE];
const MINUTE = 60_000;
const NON_COUNTING = COMPLETION_STATUSES.filter((s) => !isCounting(s));
const COUNTING = COMPLETION_STATUSES.filter(isCounting);
// Names a publisher might send that no transition expects as-is (class names, typos, other phases).
const STRANGERS = ["PlayerGameSummaryProcessor", "p2_odds_game_line", "ml_feature_store_v2", "unknown", ""];

/** Game dates around both DST changes and an ordinary day; `now` ranges over the days around them. */
const GAME_DATES = ["2026-01-15", "2026-03-08", "2026-11-01"];

interface Scenario {
  transition: Transition;
  gameDate: string;
  now: number;
  completions: PhaseEntry[];
  timeZone?: string;
}

// Weighted towards counting statuses and known names so that triggers are common enough to test.
const statusArb = fc.oneof({ arbitrary: fc.constantFrom(...COUNTING), weight: 3 }, { arbitrary: fc.constantFrom(...NON_COUNTING), weight: 1 });
// Percentages anywhere, and often near phase 5's 80% threshold.
const pctArb = fc.option(
  fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 75, max: 85 }), fc.double({ min: 0, max: 100, noNaN: true })),
  { nil: undefined },
);

function completionArb(processorArb: fc.Arbitrary<string>, now: number, status = statusArb): fc.Arbitrary<PhaseEntry> {
  return fc
    .record({
      processor: processorArb,
      status,
      // Completions happen up to 10 h before `now`; recording lags by up to 5 minutes.
      agoMs: fc.integer({ min: 0, max: 600 * MINUTE }),
      lagMs: fc.integer({ min: 0, max: 5 * MINUTE }),
      completionPct: pctArb,
    })
    .map(({ processor, status: s, agoMs, lagMs, completionPct }) => {
      const e: PhaseEntry = {
        processor,
        status: s,
        completedAt: new Date(now - agoMs).toISOString(),
        recordedAt: new Date(now - agoMs + lagMs).toISOString(),
      };
      if (completionPct !== undefined) e.completionPct = completionPct;
      return e;
    });
}

/** A permutation of `items`, chosen by fast-check. */
const permutationArb = <T>(items: T[]): fc.Arbitrary<T[]> =>
  fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length });

const known = (t: Transition): string[] => t.processors.map((p) => p.name);

function scenarioArb(transition: Transition, minCompletions = 0): fc.Arbitrary<Scenario> {
  const processorArb = fc.oneof(
    { arbitrary: fc.constantFrom(...known(transition)), weight: 6 },
    { arbitrary: fc.constantFrom(...STRANGERS), weight: 1 },
  );
  return fc
    .record({
      gameDate: fc.constantFrom(...GAME_DATES),
      // From two days before the game date's New York midnight to three days after.
      offsetMs: fc.integer({ min: -2 * 1440 * MINUTE, max: 3 * 1440 * MINUTE }),
    })
    .chain(({ gameDate, offsetMs }) => {
      const now = startOfLocalDay(gameDate, DEFAULT_PIPELINE.timeZone).getTime() + offsetMs;
      // Half the time every known processor reports once more (in any status), so that complete phases are common.
      const everyKnown = fc.oneof(
        fc.constant<PhaseEntry[]>([]),
        fc.tuple(...known(transition).map((name) => completionArb(fc.constant(name), now))),
      );
      return fc.record({
        transition: fc.constant(transition),
        gameDate: fc.constant(gameDate),
        now: fc.constant(now),
        completions: fc
          .tuple(fc.array(completionArb(processorArb, now), { minLength: minCompletions, maxLength: 14 }), everyKnown)
          .chain(([noise, round]) => permutationArb([...noise, ...round])),
        timeZone: fc.option(fc.constantFrom("America/New_York", "Asia/Tokyo", "UTC"), { nil: undefined }),
      });
    });
}

/** The tracker's view: entries folded from the completions, the first completion of a known name. */
function inputOf(s: Scenario, completions = s.completions, now = s.now): DecisionInput {
  const names = new Set(known(s.transition));
  const firstMs = Math.min(...completions.filter((c) => names.has(c.processor)).map((c) => Date.parse(c.completedAt)));
  const input: DecisionInput = { transition: s.transition, gameDate: s.gameDate, now: new Date(now), entries: foldEntries(completions) };
  if (Number.isFinite(firstMs)) input.firstCompletionAt = new Date(firstMs).toISOString();
  if (s.timeZone !== undefined) input.timeZone = s.timeZone;
  return input;
}

const decideFor = (s: Scenario, completions = s.completions, now = s.now) => decide(inputOf(s, completions, now));


for (const transition of TRANSITIONS) {
  describe(`decision properties: ${transition.id} (${transition.rule.kind})`, () => {
    const scenarios = scenarioArb(transition);

    it("generates triggering and waiting scenarios alike, so the properties below are not vacuous", () => {
      const sample = fc.sample(scenarios, { numRuns: 1000, seed: 20260308 });
      const triggered = sample.filter((s) => decideFor(s).trigger).length;
      assert.ok(triggered >= 100 && triggered <= 900, `${triggered} of 1000 generated scenarios trigger`);
    });

    it("is deterministic and does not mutate its input", () => {
      fc.assert(
        fc.property(scenarios, (s) => {
          const input = inputOf(s);
          const snapshot = structuredClone(input);
          const first = decide(input);
          assert.deepEqual(decide(structuredClone(input)), first);
          assert.deepEqual(input, snapshot);
        }),
      );
    });

    it("keeps its bookkeeping consistent (complete/missing/ignored/degraded)", () => {
      fc.assert(
        fc.property(scenarios, (s) => {
          const input = inputOf(s);
          const d = decide(input);
          const sortedCopy = (xs: string[]) => [...xs].sort();
          assert.deepEqual(d.complete, sortedCopy(d.complete));
          assert.deepEqual(d.missing, sortedCopy(d.missing));
          assert.deepEqual(d.missing, d.expected.filter((n) => !d.complete.includes(n)));
          for (const name of d.complete) assert.ok(isCounting(input.entries[name]!.status), name);
          for (const name of d.ignored ?? []) assert.ok(!d.complete.includes(name));
          if (!d.trigger) assert.equal(d.degraded, false);
          if (d.reason === "all_complete") assert.deepEqual(d.missing, []);
          assert.equal(d.latchMode, transition.rule.kind === "mode_aware" ? d.mode : "daily");
        }),
      );
    });

    it("does not depend on the order in which completions arrive", () => {
      fc.assert(
        fc.property(
          scenarios.chain((s) => fc.tuple(fc.constant(s), permutationArb(s.completions))),
          ([s, reordered]) => {
            assert.deepEqual(decideFor(s, reordered), decideFor(s));
          },
        ),
      );
    });

    it("does not change when completions are delivered more than once", () => {
      fc.assert(
        fc.property(
          scenarioArb(transition, 1).chain((s) =>
            fc.tuple(fc.constant(s), fc.array(fc.constantFrom(...s.completions), { minLength: 1, maxLength: 10 })),
          ),
          ([s, again]) => {
            assert.deepEqual(decideFor(s, [...s.completions, ...again]), decideFor(s));
          },
        ),
      );
    });

    it("never turns a trigger into a non-trigger when a counting completion is added (monotonic)", () => {
      fc.assert(
        fc.property(
          scenarios.chain((s) =>
            fc.tuple(fc.constant(s), completionArb(fc.constantFrom(...known(transition)), s.now, fc.constantFrom(...COUNTING))),
          ),
          ([s, added]) => {
            const before = decideFor(s);
            fc.pre(before.trigger);
            // By design a newer coordinator report supersedes the standing one, so a lower completion_pct
            // arriving later may lower the decision (the latch that already fired keeps the trigger).
            const standing = inputOf(s).entries[added.processor];
            const supersedes = mergeEntry(standing, added) === added;
            const lowersPct = !((added.completionPct ?? -1) >= (standing?.completionPct ?? Infinity));
            fc.pre(!(transition.rule.kind === "completion_pct" && supersedes && lowersPct));
            assert.equal(decideFor(s, [...s.completions, added]).trigger, true);
          },
        ),
      );
    });

    it("never gains anything from a non-counting status", () => {
      fc.assert(
        fc.property(
          scenarios.chain((s) =>
            fc.tuple(
              fc.constant(s),
              fc.array(completionArb(fc.constantFrom(...known(transition)), s.now, fc.constantFrom(...NON_COUNTING)), {
                minLength: 1,
                maxLength: 6,
              }),
            ),
          ),
          ([s, added]) => {
            // Hold the first-completion time fixed: the tracker sets it on any status, which is a clock, not a count.
            const base = inputOf(s);
            const withAdded = { ...inputOf(s, [...s.completions, ...added]), firstCompletionAt: base.firstCompletionAt };
            if (base.firstCompletionAt === undefined) delete withAdded.firstCompletionAt;
            // Names outside the current mode's sets are reported in `ignored` whatever their status.
            assert.deepEqual({ ...decide(withAdded), ignored: [] }, { ...decide(base), ignored: [] });
          },
        ),
      );
    });

    it("never counts a name the transition does not expect", () => {
      const strangerArb = fc.oneof(
        fc.constantFrom(...STRANGERS),
        fc.string({ minLength: 1, maxLength: 12 }).filter((n) => !known(transition).includes(n)),
      );
      fc.assert(
        fc.property(
          scenarios.chain((s) =>
            fc.tuple(fc.constant(s), fc.array(completionArb(strangerArb, s.now, fc.constantFrom(...COUNTING)), { maxLength: 6 })),
          ),
          ([s, strangers]) => {
            const onlyKnown = s.completions.filter((c) => known(transition).includes(c.processor));
            const clean = decideFor(s, onlyKnown);
            const noisy = decideFor(s, [...onlyKnown, ...strangers]);
            assert.deepEqual({ ...noisy, ignored: [] }, { ...clean, ignored: [] });
            for (const stranger of strangers) assert.ok(noisy.ignored?.includes(stranger.processor), stranger.processor);
          },
        ),
      );
    });

    it("never turns a trigger into a non-trigger as time moves forward within one latch", () => {
      fc.assert(
        fc.property(scenarios, fc.integer({ min: 0, max: 3 * 1440 * MINUTE }), (s, laterMs) => {
          const before = decideFor(s);
          const after = decideFor(s, s.completions, s.now + laterMs);
          // A new run mode is a new latch (a same-day trigger does not stand for the overnight run).
          fc.pre(before.trigger && after.latchMode === before.latchMode);
          assert.equal(after.trigger, true);
        }),
      );
    });

    it("nextDeadline is exactly the first instant at which time alone makes it trigger in the same latch", () => {
      fc.assert(
        fc.property(scenarios, (s) => {
          const input = inputOf(s);
          const next = nextDeadline(input);
          if (decide(input).trigger) {
            assert.equal(next, null);
          } else if (next === null) {
            // Every tier and deadline is reached by then; mode-aware decisions are constant within a latch.
            const later = decide({ ...input, now: new Date(s.now + 10 * 1440 * MINUTE) });
            if (later.latchMode === decide(input).latchMode) assert.equal(later.trigger, false);
          } else {
            assert.ok(next.getTime() > s.now);
            const then = decide({ ...input, now: next });
            assert.equal(then.trigger, true);
            assert.equal(then.latchMode, decide(input).latchMode);
            assert.equal(decide({ ...input, now: new Date(next.getTime() - 1) }).trigger, false);
          }
        }),
      );
    });
  });
}

describe("decision properties: statuses", () => {
  it("counts exactly success and partial", () => {
    const counting: CompletionStatus[] = COMPLETION_STATUSES.filter(isCounting);
    assert.deepEqual(counting, ["success", "partial"]);
  });
});

// When is a phase complete enough to trigger the next one? Pure: the same input always gives the
// same decision, so the orchestrator (on message arrival) and the sweeper (on a schedule) agree.
import { ContractViolationError } from "./error-family.ts";
import type { Decision, DecisionInput, PhaseEntry } from "./decision-types.ts";
import { DEFAULT_PIPELINE } from "./pipeline-defaults.ts";
import {
  COMPLETION_STATUSES,
  COUNTING_STATUSES,
  type CompletionStatus,
  type RunMode,
  type TriggerRule,
} from "./pipeline-types.ts";
import { instantMs, runModeFor } from "./run-mode.ts";

const MS_PER_MINUTE = 60_000;

type RuleOf<K extends TriggerRule["kind"]> = Extract<TriggerRule, { kind: K }>;

/** Only success and partial move a phase forward. */
export function isCounting(status: CompletionStatus): boolean {
  return COUNTING_STATUSES.includes(status);
}

/**
 * Which of two entries for one processor stands. A counting entry beats a non-counting one (a
 * re-run that fails does not undo output already delivered, and a latch may already have fired on
 * it); otherwise the later completion wins. The remaining tie-breaks only make the choice a total
 * order, so folding entries is independent of arrival order and of duplicates.
 */
export function mergeEntry(existing: PhaseEntry | undefined, incoming: PhaseEntry): PhaseEntry {
  if (existing === undefined) return incoming;
  if (existing.processor !== incoming.processor) {
    throw new ContractViolationError(`cannot merge entries of ${existing.processor} and ${incoming.processor}`);
  }
  return compareEntries(incoming, existing) > 0 ? incoming : existing;
}

/** Folds completions (in any order, duplicates allowed) into entries keyed by processor. */
export function foldEntries(completions: Iterable<PhaseEntry>): Record<string, PhaseEntry> {
  const byProcessor = new Map<string, PhaseEntry>();
  for (const completion of completions) {
    byProcessor.set(completion.processor, mergeEntry(byProcessor.get(completion.processor), completion));
  }
  // fromEntries defines own properties, so even a name like "__proto__" stays an ordinary key.
  return Object.fromEntries(byProcessor);
}

function compareEntries(a: PhaseEntry, b: PhaseEntry): number {
  return (
    Number(isCounting(a.status)) - Number(isCounting(b.status)) ||
    instantMs(a.completedAt) - instantMs(b.completedAt) ||
    instantMs(a.recordedAt) - instantMs(b.recordedAt) ||
    comparePct(a.completionPct, b.completionPct) ||
    // Earlier in COMPLETION_STATUSES (success before partial) wins a full tie.
    COMPLETION_STATUSES.indexOf(b.status) - COMPLETION_STATUSES.indexOf(a.status) ||
    compareStrings(a.completedAt, b.completedAt) ||
    compareStrings(a.recordedAt, b.recordedAt)
  );
}

// A usable percentage beats none; the later report usually carries the higher one anyway.
function comparePct(a: number | undefined, b: number | undefined): number {
  const usable = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
  if (usable(a) && usable(b)) return a - b;
  return Number(usable(a)) - Number(usable(b)) || compareStrings(String(a), String(b));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The names a rule waits for and the names it counts, in the current mode. */
interface Scope {
  expected: string[];
  counted: ReadonlySet<string>;
}

interface Tally {
  expected: string[];
  complete: string[];
  missing: string[];
  ignored: string[];
  isComplete: (name: string) => boolean;
}

const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

function tally(entries: Record<string, PhaseEntry>, scope: Scope): Tally {
  const completeSet = new Set(
    Object.entries(entries)
      .filter(([name, entry]) => scope.counted.has(name) && isCounting(entry.status))
      .map(([name]) => name),
  );
  return {
    expected: scope.expected,
    complete: sorted(completeSet),
    missing: scope.expected.filter((name) => !completeSet.has(name)),
    ignored: sorted(Object.keys(entries).filter((name) => !scope.counted.has(name))),
    isComplete: (name) => completeSet.has(name),
  };
}

/** Milliseconds since the first completion, or undefined when nothing has arrived yet. */
function elapsedMs(input: DecisionInput): number | undefined {
  return input.firstCompletionAt === undefined ? undefined : input.now.getTime() - instantMs(input.firstCompletionAt);
}

const transitionNames = (input: DecisionInput): string[] => input.transition.processors.map((p) => p.name);

interface Context {
  input: DecisionInput;
  mode: RunMode;
}

type Outcome = Pick<Decision, "trigger" | "reason" | "degraded"> & { tier?: number };

const WAITING: Outcome = { trigger: false, reason: "waiting", degraded: false };
const ALL_COMPLETE: Outcome = { trigger: true, reason: "all_complete", degraded: false };

function build(ctx: Context, latchMode: Decision["latchMode"], t: Tally, outcome: Outcome): Decision {
  const decision: Decision = {
    trigger: outcome.trigger,
    reason: outcome.reason,
    mode: ctx.mode,
    latchMode,
    expected: t.expected,
    complete: t.complete,
    missing: t.missing,
    degraded: outcome.degraded,
    ignored: t.ignored,
  };
  if (outcome.tier !== undefined) decision.tier = outcome.tier;
  return decision;
}

// An empty expected list would make "all complete" vacuously true: never trigger on nothing.
const NOTHING_EXPECTED: Outcome = { trigger: false, reason: "no_expected_processors", degraded: false };

function decideAllComplete(ctx: Context, rule: RuleOf<"all_complete">): Decision {
  const expected = sorted(transitionNames(ctx.input));
  const t = tally(ctx.input.entries, { expected, counted: new Set(expected) });
  return build(ctx, "daily", t, allCompleteOutcome(ctx.input, rule, t));
}

function allCompleteOutcome(input: DecisionInput, rule: RuleOf<"all_complete">, t: Tally): Outcome {
  if (t.expected.length === 0) return NOTHING_EXPECTED;
  if (t.missing.length === 0) return ALL_COMPLETE;
  const { deadline } = rule;
  const elapsed = elapsedMs(input);
  if (
    deadline.enabled &&
    elapsed !== undefined &&
    elapsed >= deadline.afterFirstCompletionMinutes * MS_PER_MINUTE &&
    deadline.critical.every(t.isComplete)
  ) {
    return { trigger: true, reason: "deadline_critical_complete", degraded: true };
  }
  return WAITING;
}

function decideModeAware(ctx: Context, rule: RuleOf<"mode_aware">): Decision {
  const sets = rule.modes[ctx.mode];
  const expected = sorted(sets.expected);
  const majoritySet = sorted([...sets.critical, ...sets.optional]);
  const t = tally(ctx.input.entries, { expected, counted: new Set([...expected, ...majoritySet]) });
  return build(ctx, ctx.mode, t, modeAwareOutcome(rule, sets.critical, majoritySet, t));
}

function modeAwareOutcome(rule: RuleOf<"mode_aware">, critical: string[], majoritySet: string[], t: Tally): Outcome {
  if (t.expected.length === 0) return NOTHING_EXPECTED;
  if (t.missing.length === 0) return ALL_COMPLETE;
  // An empty critical+optional set has no majority to speak of: only "all expected" can fire.
  if (majoritySet.length === 0 || !critical.every(t.isComplete)) return WAITING;
  const done = majoritySet.filter(t.isComplete).length;
  // Integer comparison: 59/100 must not round up to 60%.
  if (done * 100 < rule.majorityPct * majoritySet.length) return WAITING;
  const pct = Math.floor((done * 100) / majoritySet.length);
  return { trigger: true, reason: `critical_plus_majority_${pct}pct`, degraded: true };
}

function decideTiered(ctx: Context, rule: RuleOf<"tiered">): Decision {
  const expected = sorted(transitionNames(ctx.input));
  const t = tally(ctx.input.entries, { expected, counted: new Set(expected) });
  return build(ctx, "daily", t, tieredOutcome(ctx.input, rule, t));
}

function tieredOutcome(input: DecisionInput, rule: RuleOf<"tiered">, t: Tally): Outcome {
  if (t.expected.length === 0) return NOTHING_EXPECTED;
  if (t.missing.length === 0) return ALL_COMPLETE;
  const elapsed = elapsedMs(input);
  if (elapsed === undefined) return WAITING;
  const done = t.complete.length;
  // The highest tier (in configured order) that is both reached and satisfied fires.
  for (let index = rule.tiers.length - 1; index >= 0; index--) {
    const tier = rule.tiers[index];
    if (tier && elapsed >= tier.afterMinutes * MS_PER_MINUTE && done >= tier.minComplete) {
      return {
        trigger: true,
        reason: `tier_${index + 1}_${tier.afterMinutes}min_${done}of${t.expected.length}`,
        degraded: true,
        tier: index + 1,
      };
    }
  }
  return WAITING;
}

function decideCompletionPct(ctx: Context, rule: RuleOf<"completion_pct">): Decision {
  const expected = [rule.processor];
  const t = tally(ctx.input.entries, { expected, counted: new Set(expected) });
  return build(ctx, "daily", t, completionPctOutcome(ctx.input, rule, t));
}

function completionPctOutcome(input: DecisionInput, rule: RuleOf<"completion_pct">, t: Tally): Outcome {
  if (!t.isComplete(rule.processor)) return WAITING;
  const pct = input.entries[rule.processor]?.completionPct;
  // A counting report without a usable percentage cannot be judged: say so rather than guess.
  if (pct === undefined || !Number.isFinite(pct)) {
    return { trigger: false, reason: "completion_pct_missing", degraded: false };
  }
  if (pct < rule.minPct) return { trigger: false, reason: "completion_pct_below_min", degraded: false };
  return { trigger: true, reason: `completion_pct_${Math.floor(pct)}`, degraded: false };
}

/**
 * Decides whether the phase is complete enough to trigger the next one. Only entries whose name
 * the rule expects (in the current mode) and whose status is success/partial count; other names
 * are listed in `ignored`. The run mode is `input.mode` when given, else judged at `now`. Throws
 * RangeError on a malformed game date, `now` or timestamp.
 */
export function decide(input: DecisionInput): Decision {
  // Judged even when a mode is given: it validates the game date and `now`.
  const judged = runModeFor(input.gameDate, input.now, input.timeZone ?? DEFAULT_PIPELINE.timeZone);
  const mode = input.mode ?? judged;
  const ctx: Context = { input, mode };
  const rule = input.transition.rule;
  switch (rule.kind) {
    case "all_complete":
      return decideAllComplete(ctx, rule);
    case "mode_aware":
      return decideModeAware(ctx, rule);
    case "tiered":
      return decideTiered(ctx, rule);
    case "completion_pct":
      return decideCompletionPct(ctx, rule);
  }
}

/** Instants at which the passage of time alone can change a decision for this input. */
function timeBoundaries(input: DecisionInput): number[] {
  const rule = input.transition.rule;
  const first = input.firstCompletionAt === undefined ? undefined : instantMs(input.firstCompletionAt);
  const afterFirst = (minutes: number[]): number[] =>
    first === undefined ? [] : minutes.map((m) => first + m * MS_PER_MINUTE);
  switch (rule.kind) {
    case "all_complete":
      return rule.deadline.enabled ? afterFirst([rule.deadline.afterFirstCompletionMinutes]) : [];
    case "tiered":
      return afterFirst(rule.tiers.map((tier) => tier.afterMinutes));
    // Within one latch (one run mode) a mode-aware decision does not depend on time. At local
    // midnight the mode changes, but that is another latch with its own entries, not this one firing.
    case "mode_aware":
    case "completion_pct":
      return [];
  }
}

/**
 * When the sweeper should re-evaluate: the earliest instant after `now` at which, with no new
 * entries, `decide` would trigger in the same latch (a tier or the deadline is reached). Null when
 * it triggers already or time alone can never make it trigger (mode-aware and completion_pct rules).
 */
export function nextDeadline(input: DecisionInput): Date | null {
  if (decide(input).trigger) return null;
  const now = input.now.getTime();
  const candidates = [...new Set(timeBoundaries(input))].filter((t) => t > now).sort((a, b) => a - b);
  const firing = candidates.find((t) => decide({ ...input, now: new Date(t) }).trigger);
  return firing === undefined ? null : new Date(firing);
}

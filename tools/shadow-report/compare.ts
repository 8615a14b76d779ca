// The shadow comparison: per transition and game date, did the existing system and ours both
// trigger (with the delay between them and any difference in the fields the downstream services
// read), only one of them, or neither. Pure: the CLI reads both sides and hands them over.
import { downstreamReaderOf, type DownstreamReader } from "../../functions/core/trigger-message.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";

export interface ObservedTrigger {
  transitionId: string;
  gameDate: string;
  /** When it was published (ours: publishedAt; theirs: the message's publish time). */
  at: Date;
  payload: Record<string, unknown>;
}

export type Outcome = "both" | "only_existing" | "only_ours" | "neither";

export interface FieldDifference {
  field: string;
  ours: unknown;
  existing: unknown;
}

export interface ComparisonRow {
  transitionId: string;
  gameDate: string;
  outcome: Outcome;
  /** ours minus theirs, ms (both only): positive when ours triggered later. */
  delayMs?: number;
  differences: FieldDifference[];
  /** Triggers seen per side for the key (a phase triggered twice by one side shows here). */
  counts: { ours: number; existing: number };
  agree: boolean;
}

export interface Comparison {
  rows: ComparisonRow[];
  agree: boolean;
}

/**
 * What each downstream service reads to act (trigger-message.ts READER_FIELDS, plus the date every
 * reader starts from). Per-system identifiers (trigger_id, correlation_id, timestamp, triggered_by)
 * differ by construction and are not compared.
 */
export const DOWNSTREAM_READ_FIELDS: Record<DownstreamReader | "common", readonly string[]> = {
  common: ["game_date"],
  phase3_analytics: [],
  phase4_precompute: ["analysis_date"],
  prediction_coordinator: ["trigger_source"],
  phase6_exporter: ["export_types", "target_date", "update_latest"],
};

export function fieldsReadBy(transition: Pick<Transition, "toPhase">): string[] {
  const reader = downstreamReaderOf(transition);
  return [...DOWNSTREAM_READ_FIELDS.common, ...(reader === null ? [] : DOWNSTREAM_READ_FIELDS[reader])];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const key = (transitionId: string, gameDate: string) => `${transitionId}\u0000${gameDate}`;

function earliest(triggers: readonly ObservedTrigger[]): ObservedTrigger | undefined {
  return [...triggers].sort((a, b) => a.at.getTime() - b.at.getTime())[0];
}

/**
 * Compares both sides. `expected` lists (transition, date) pairs that should appear even when neither
 * side triggered (e.g. dates with recorded completions), so "neither" can be reported.
 */
export function compareTriggers(
  transitions: readonly Pick<Transition, "id" | "toPhase">[],
  ours: readonly ObservedTrigger[],
  existing: readonly ObservedTrigger[],
  expected: readonly { transitionId: string; gameDate: string }[] = [],
): Comparison {
  const order = new Map(transitions.map((t, i) => [t.id, i]));
  const keys = new Map<string, { transitionId: string; gameDate: string }>();
  for (const k of [...expected, ...ours, ...existing]) keys.set(key(k.transitionId, k.gameDate), { transitionId: k.transitionId, gameDate: k.gameDate });
  const rows: ComparisonRow[] = [];
  for (const { transitionId, gameDate } of keys.values()) {
    const o = ours.filter((t) => t.transitionId === transitionId && t.gameDate === gameDate);
    const e = existing.filter((t) => t.transitionId === transitionId && t.gameDate === gameDate);
    const counts = { ours: o.length, existing: e.length };
    const first = { ours: earliest(o), existing: earliest(e) };
    if (first.ours !== undefined && first.existing !== undefined) {
      const transition = transitions.find((t) => t.id === transitionId);
      const fields = transition === undefined ? DOWNSTREAM_READ_FIELDS.common : fieldsReadBy(transition);
      const differences = fields
        .filter((f) => !same(first.ours!.payload[f], first.existing!.payload[f]))
        .map((f) => ({ field: f, ours: first.ours!.payload[f], existing: first.existing!.payload[f] }));
      rows.push({ transitionId, gameDate, outcome: "both", delayMs: first.ours.at.getTime() - first.existing.at.getTime(), differences, counts, agree: differences.length === 0 });
    } else if (first.existing !== undefined) {
      rows.push({ transitionId, gameDate, outcome: "only_existing", differences: [], counts, agree: false });
    } else if (first.ours !== undefined) {
      rows.push({ transitionId, gameDate, outcome: "only_ours", differences: [], counts, agree: false });
    } else {
      rows.push({ transitionId, gameDate, outcome: "neither", differences: [], counts, agree: true });
    }
  }
  rows.sort((a, b) => a.gameDate.localeCompare(b.gameDate) || (order.get(a.transitionId) ?? 99) - (order.get(b.transitionId) ?? 99) || a.transitionId.localeCompare(b.transitionId));
  return { rows, agree: rows.every((r) => r.agree) };
}

// Completion messages as today's publishers send them, one per expected processor of a transition,
// taken from the shared fixtures (tools/messages/fixtures) so the bench drives the same shapes the
// contract tests pin. Pure apart from reading the fixture files.
import { readFileSync } from "node:fs";
import type { Transition } from "../functions/core/pipeline-types.ts";
import { pushEnvelope, pythonTimestamp } from "../tools/messages/envelope.ts";

interface FixtureCase {
  expected: string | null;
  message: Record<string, unknown>;
}

const FIXTURE_FILES: Record<string, string> = {
  "phase2-to-phase3": "phase2-raw.json",
  "phase3-to-phase4": "phase3-analytics.json",
  "phase4-to-phase5": "phase4-precompute.json",
  "phase5-to-phase6": "phase5-predictions.json",
};

const cache = new Map<string, FixtureCase[]>();
function fixture(transitionId: string): FixtureCase[] {
  const file = FIXTURE_FILES[transitionId];
  if (file === undefined) throw new Error(`no message fixture for transition ${transitionId}`);
  let cases = cache.get(file);
  if (cases === undefined) {
    cases = JSON.parse(readFileSync(new URL(`../tools/messages/fixtures/${file}`, import.meta.url), "utf8")) as FixtureCase[];
    cache.set(file, cases);
  }
  return cases;
}

/** One counting (success) message per expected processor of the transition, for one game date. */
export function completionsFor(transition: Transition, gameDate: string): Record<string, unknown>[] {
  const byProcessor = new Map<string, Record<string, unknown>>();
  for (const c of fixture(transition.id)) {
    if (c.expected === null) continue;
    const chosen = byProcessor.get(c.expected);
    if (chosen === undefined || (chosen.status !== "success" && c.message.status === "success")) byProcessor.set(c.expected, c.message);
  }
  const messages = [...byProcessor.values()].map((m) => ({
    ...m,
    status: "success",
    game_date: gameDate,
    execution_id: Math.random().toString(16).slice(2, 10).padEnd(8, "0"),
    timestamp: pythonTimestamp(),
    ...(transition.rule.kind === "completion_pct" ? { metadata: { ...(m.metadata as object), completion_pct: 100 } } : {}),
  }));
  if (messages.length !== transition.processors.length) {
    throw new Error(`fixtures give ${messages.length} processors for ${transition.id}, the model expects ${transition.processors.length}`);
  }
  return messages;
}

/** A completion of a synthetic processor named by its expected name (contention runs). */
export function syntheticCompletion(phaseWireName: string, processor: string, gameDate: string): Record<string, unknown> {
  return {
    processor_name: processor,
    phase: phaseWireName,
    execution_id: Math.random().toString(16).slice(2, 10).padEnd(8, "0"),
    correlation_id: "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    game_date: gameDate,
    status: "success",
    record_count: 120,
    timestamp: pythonTimestamp(),
  };
}

/** A game date per index, all in the past (overnight mode), distinct per run through `offset`. */
export function benchDate(index: number, offset = 0): string {
  const d = new Date(Date.UTC(2025, 0, 1) + (offset + index) * 86_400_000);
  return d.toISOString().slice(0, 10);
}

export { pushEnvelope };

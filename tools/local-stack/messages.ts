// Completion messages in today's shapes (tools/messages/fixtures: class names, output tables, nulls in
// metadata, Python timestamps), one per expected processor, re-dated for a game day, plus the
// malformed ones the `malformed` fault publishes. The builders are pure; loadFixtures reads the files.
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import { pythonIsoTimestamp } from "../../functions/core/trigger-message.ts";

export interface FixtureCase {
  case: string;
  expected: string | null;
  message: Record<string, unknown>;
}

const FIXTURE_DIR = path.resolve(import.meta.dirname, "../messages/fixtures");

/** Every fixture case of every phase file, keyed by the message's `phase`. */
export function loadFixtures(dir: string = FIXTURE_DIR): Map<string, FixtureCase[]> {
  const byPhase = new Map<string, FixtureCase[]>();
  for (const file of readdirSync(dir).filter((f) => /^phase.*\.json$/.test(f)).sort()) {
    for (const c of JSON.parse(readFileSync(path.join(dir, file), "utf8")) as FixtureCase[]) {
      const phase = String(c.message.phase);
      byPhase.set(phase, [...(byPhase.get(phase) ?? []), c]);
    }
  }
  return byPhase;
}

const COUNTING = new Set(["success", "partial"]);

/** The template of one expected processor: a counting fixture case if there is one, else any, else a minimal shape. */
export function templateFor(transition: Transition, processor: string, fixtures: Map<string, FixtureCase[]>): Record<string, unknown> {
  const cases = (fixtures.get(transition.phaseWireName) ?? []).filter((c) => c.expected === processor);
  const chosen = cases.find((c) => COUNTING.has(String(c.message.status))) ?? cases[0];
  if (chosen !== undefined) return structuredClone(chosen.message);
  const def = transition.processors.find((p) => p.name === processor);
  return { processor_name: def?.aliases[0] ?? processor, phase: transition.phaseWireName, status: "success", record_count: 1 };
}

/** A fixture message of the phase whose processor the pipeline does not expect (reported as unknown). */
export function unknownProcessorTemplate(transition: Transition, fixtures: Map<string, FixtureCase[]>): Record<string, unknown> {
  const c = (fixtures.get(transition.phaseWireName) ?? []).find((x) => x.expected === null);
  return c !== undefined ? structuredClone(c.message) : { processor_name: "LocalStackUnknownProcessor", phase: transition.phaseWireName, status: "success" };
}

const runId8 = (): string => randomBytes(4).toString("hex");

export interface CompletionOptions {
  gameDate: string;
  correlationId: string;
  at: Date;
  /** Phase 5: the completion_pct the coordinator reports. */
  completionPct?: number;
}

/**
 * One completion as the processor publishes it today: the template re-dated, with a fresh run id
 * (8 characters in phases 2 and 4, a UUID equal to the correlation id in phase 3, a batch id in 5).
 */
export function completionMessage(transition: Transition, template: Record<string, unknown>, o: CompletionOptions): Record<string, unknown> {
  const msg: Record<string, unknown> = { ...structuredClone(template), game_date: o.gameDate, correlation_id: o.correlationId, status: "success", timestamp: pythonIsoTimestamp(o.at) };
  delete msg.error_message;
  delete msg.error_type;
  if (transition.rule.kind === "completion_pct") {
    const batchId = `batch_${o.gameDate}_${Math.floor(o.at.getTime() / 1000)}`;
    const pct = o.completionPct ?? 100;
    const meta = { ...((msg.metadata as Record<string, unknown> | undefined) ?? {}) };
    const expected = typeof meta.expected_players === "number" ? meta.expected_players : 450;
    const completed = Math.round((expected * pct) / 100);
    Object.assign(meta, { batch_id: batchId, expected_players: expected, completed_players: completed, completion_pct: pct });
    Object.assign(msg, { execution_id: batchId, metadata: meta });
  } else if (transition.fromPhase === 3) {
    const id = randomUUID();
    Object.assign(msg, { execution_id: id });
  } else {
    msg.execution_id = runId8();
  }
  return msg;
}

export interface MalformedMessage {
  label: string;
  /** Raw bytes of the Pub/Sub data. */
  data: Buffer;
}

/** Messages the orchestrator must quarantine (and acknowledge), never count, never dead-letter. */
export function malformedMessages(transition: Transition, fixtures: Map<string, FixtureCase[]>, gameDate: string, at: Date): MalformedMessage[] {
  const valid = templateFor(transition, transition.processors[0]!.name, fixtures);
  const missingDate: Record<string, unknown> = { ...valid, status: "done", timestamp: pythonIsoTimestamp(at), execution_id: runId8(), correlation_id: randomUUID() };
  delete missingDate.game_date;
  const unknown: Record<string, unknown> = { ...unknownProcessorTemplate(transition, fixtures), game_date: gameDate, timestamp: pythonIsoTimestamp(at), execution_id: runId8(), correlation_id: randomUUID() };
  return [
    { label: "not JSON", data: Buffer.from("{processor_name: NbacGamebookProcessor, truncated") },
    { label: "no game_date and an unknown status", data: Buffer.from(JSON.stringify(missingDate)) },
    { label: `unknown processor ${String(unknown.processor_name)}`, data: Buffer.from(JSON.stringify(unknown)) },
  ];
}

/** Game dates: yesterday in the pipeline's zone and the days before it (past dates run in overnight mode). */
export function gameDates(count: number, now: Date, timeZone: string, offsetDays = 0): string[] {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  const base = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(base - (1 + offsetDays + i) * 86_400_000).toISOString().slice(0, 10));
}

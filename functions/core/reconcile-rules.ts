// What the reconciler must repair, given the Firestore phase-state documents and the BigQuery
// phase_completions rows of the same game dates. Pure. Both directions use the runtime's own rules:
// - BigQuery -> Firestore: a row is missing from Firestore exactly when applyCompletion (the single
//   writer's rule) would change the document; the repair then goes through that same rule.
// - Firestore -> BigQuery: an entry is missing from BigQuery when no row has its deterministic
//   insert id, and is inserted with that id, so repeats collapse. The row and its id come from
//   completion-row.ts, the builder the store uses too (the id passed in as insertIdOf).
import type { CompletionStatus, Transition } from "./pipeline-types.ts";
import { COMPLETION_STATUSES, RUN_MODES } from "./pipeline-types.ts";
import {
  applyCompletion,
  emptyPhaseState,
  latchedStatusRowOf,
  phaseStateDocId,
  type LatchMode,
  type PhaseStateDoc,
  type ResolvedCompletion,
} from "./phase-state.ts";
import type { PhaseCompletionRow, PhaseCompletionStatusRow } from "./tables.ts";
import { buildCompletionRow, completionRecordOf } from "./completion-row.ts";

/** A completion BigQuery has and Firestore lacks, ready for the single writer's transaction. */
export interface FirestoreRepair {
  docId: string;
  transitionId: string;
  gameDate: string;
  latchMode: LatchMode;
  completion: ResolvedCompletion;
  /** When the orchestrator first recorded it (the row's recorded_at): keeps tier clocks honest. */
  recordedAt: string;
  insertId: string;
}

/** A completion Firestore has and BigQuery lacks: the row to insert (the store adds the same insert id). */
export interface BigQueryRepair {
  docId: string;
  insertId: string;
  row: Omit<PhaseCompletionRow, "insert_id">;
}

/** Something the reconciler cannot repair; reported, never guessed at. */
export interface Unrepairable {
  source: "bigquery" | "firestore";
  key: string;
  problem: string;
}

export interface ReconcilePlan {
  toFirestore: FirestoreRepair[];
  toBigQuery: BigQueryRepair[];
  unrepairable: Unrepairable[];
  checked: { firestoreDocs: number; firestoreEntries: number; bigqueryRows: number };
}

const LATCH_MODES: readonly LatchMode[] = [...RUN_MODES, "daily"];

function validLatchMode(transition: Transition, mode: string): mode is LatchMode {
  if (!(LATCH_MODES as readonly string[]).includes(mode)) return false;
  return transition.rule.kind === "mode_aware" ? (RUN_MODES as readonly string[]).includes(mode) : mode === "daily";
}

/** Timestamps come back from BigQuery in more than one spelling; Firestore entries use toISOString(). */
function isoOrNull(value: unknown): string | null {
  if (typeof value !== "string" && typeof value !== "number") return null;
  const ms = typeof value === "number" ? value : Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The deterministic insert id a completion row is given (completion-row.ts completionRowInsertId). */
export type InsertIdOf = (row: Omit<PhaseCompletionRow, "insert_id">) => string;

/** Phase 5 facts the exporter's trigger carries, from the row's metadata JSON (as the orchestrator reads them). */
function coordinatorFacts(row: PhaseCompletionRow): { batchId?: string; completedPredictions?: number } | { problem: string } {
  if (row.metadata === null || row.metadata === undefined || row.metadata === "") return { batchId: row.execution_id };
  const parsed = parseJsonObject(row.metadata);
  if (parsed === null) return { problem: "metadata is not a JSON object" };
  const batch = parsed["batch_id"];
  const predictions = parsed["completed_predictions"];
  return {
    batchId: typeof batch === "string" && batch !== "" ? batch : row.execution_id,
    ...(typeof predictions === "number" && Number.isFinite(predictions) ? { completedPredictions: predictions } : {}),
  };
}

/**
 * JSON text to an object, or null when it is not one. Not swallowed: the caller turns null into an
 * Unrepairable entry, which the reconciler logs and reports to Slack.
 */
function parseJsonObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** The completion a BigQuery row describes, or the reason it cannot be replayed. */
export function completionFromRow(
  row: PhaseCompletionRow,
  transition: Transition,
  insertIdOf: InsertIdOf,
): { ok: true; completion: ResolvedCompletion; recordedAt: string; latchMode: LatchMode } | { ok: false; problem: string } {
  if (!validLatchMode(transition, row.mode)) return { ok: false, problem: `mode "${row.mode}" is not a latch mode of ${transition.id}` };
  if (!(COMPLETION_STATUSES as readonly string[]).includes(row.status)) return { ok: false, problem: `status "${row.status}" is unknown` };
  const completedAt = isoOrNull(row.completed_at);
  const recordedAt = isoOrNull(row.recorded_at);
  if (completedAt === null || recordedAt === null) return { ok: false, problem: "completed_at or recorded_at is not a timestamp" };
  let phase5: { batchId?: string; completedPredictions?: number } = {};
  if (transition.rule.kind === "completion_pct") {
    const facts = coordinatorFacts(row);
    if ("problem" in facts) return { ok: false, problem: facts.problem };
    phase5 = facts;
  }
  const completion: ResolvedCompletion = {
    processor: row.processor_name,
    reportedName: row.reported_name,
    status: row.status as CompletionStatus,
    gameDate: row.game_date,
    executionId: row.execution_id,
    correlationId: row.correlation_id,
    completedAt,
    // The delivery that wrote the row; the row always has an insert id to fall back on.
    messageId: row.message_id ?? `reconciled:${insertIdOf(row)}`,
    ...(row.completion_pct === null || row.completion_pct === undefined ? {} : { completionPct: row.completion_pct }),
    ...phase5,
    rowInBigQuery: true,
  };
  return { ok: true, completion, recordedAt, latchMode: row.mode };
}

/** The BigQuery row for a Firestore entry: what the tracker would have inserted, minus facts only the message had. */
function rowFromEntry(doc: PhaseStateDoc, transition: Transition, processor: string): Omit<PhaseCompletionRow, "insert_id"> {
  const e = doc.entries[processor]!;
  const { insert_id: _insertId, ...row } = buildCompletionRow(
    completionRecordOf({ id: doc.transitionId, phaseWireName: transition.phaseWireName }, doc.gameDate, doc.latchMode, { ...e, processor }, e.recordedAt),
  );
  return row;
}

export interface ReconcileInput {
  transitions: readonly Transition[];
  docs: readonly PhaseStateDoc[];
  rows: readonly PhaseCompletionRow[];
  insertIdOf: InsertIdOf;
  /**
   * Entries recorded after this instant (ISO) are left alone: their orchestrator may still be writing
   * the BigQuery row, whose facts (record_count, metadata) only it has; the same insert id would
   * make BigQuery drop that richer row in favour of ours.
   */
  settledBefore?: string;
}

export function planReconciliation(input: ReconcileInput): ReconcilePlan {
  const byId = new Map(input.transitions.map((t) => [t.id, t]));
  const unrepairable: Unrepairable[] = [];
  const docs = new Map<string, PhaseStateDoc>();
  for (const doc of input.docs) docs.set(phaseStateDocId(doc.transitionId, doc.gameDate, doc.latchMode), doc);

  // BigQuery -> Firestore: replay every row on an in-memory copy with the writer's own rule; only the
  // last row that changed a processor's entry is needed (it is the winner over the stored entry).
  const simulated = new Map(docs);
  const repairs = new Map<string, FirestoreRepair>();
  const sortedRows = [...input.rows].sort((a, b) => (isoOrNull(a.recorded_at) ?? "").localeCompare(isoOrNull(b.recorded_at) ?? ""));
  for (const row of sortedRows) {
    const key = `${row.transition_id}/${row.game_date}/${row.mode}/${row.processor_name}/${row.execution_id}`;
    const transition = byId.get(row.transition_id);
    if (transition === undefined) {
      unrepairable.push({ source: "bigquery", key, problem: `transition "${row.transition_id}" is not in the pipeline` });
      continue;
    }
    const replay = completionFromRow(row, transition, input.insertIdOf);
    if (!replay.ok) {
      unrepairable.push({ source: "bigquery", key, problem: replay.problem });
      continue;
    }
    const docId = phaseStateDocId(transition.id, row.game_date, replay.latchMode);
    const current = simulated.get(docId) ?? emptyPhaseState(transition.id, row.game_date, replay.latchMode, new Date(replay.recordedAt));
    const applied = applyCompletion(current, replay.completion, new Date(replay.recordedAt));
    if (!applied.changed) continue;
    simulated.set(docId, applied.doc);
    repairs.set(`${docId}/${row.processor_name}`, {
      docId,
      transitionId: transition.id,
      gameDate: row.game_date,
      latchMode: replay.latchMode,
      completion: replay.completion,
      recordedAt: replay.recordedAt,
      insertId: input.insertIdOf(row),
    });
  }

  // Firestore -> BigQuery: every stored entry must have its row.
  const inBigQuery = new Set(input.rows.map((row) => input.insertIdOf(row)));
  const toBigQuery: BigQueryRepair[] = [];
  let entries = 0;
  for (const [docId, doc] of docs) {
    const transition = byId.get(doc.transitionId);
    if (transition === undefined) {
      unrepairable.push({ source: "firestore", key: docId, problem: `transition "${doc.transitionId}" is not in the pipeline` });
      continue;
    }
    for (const processor of Object.keys(doc.entries).sort()) {
      entries++;
      if (input.settledBefore !== undefined && doc.entries[processor]!.recordedAt > input.settledBefore) continue;
      const row = rowFromEntry(doc, transition, processor);
      const insertId = input.insertIdOf(row);
      if (!inBigQuery.has(insertId)) toBigQuery.push({ docId, insertId, row });
    }
  }

  return {
    toFirestore: [...repairs.values()],
    toBigQuery,
    unrepairable,
    checked: { firestoreDocs: docs.size, firestoreEntries: entries, bigqueryRows: input.rows.length },
  };
}

// ---- phase_execution_log: one row per published trigger ----

/** A published trigger whose phase_execution_log row is missing. */
export interface ExecutionLogRepair {
  docId: string;
  transitionId: string;
  triggerId: string;
}

/**
 * Published triggers with no execution-log row. Only triggers published before `settledBefore`: the
 * publisher writes the row right after its publish (or its redelivery does), so a younger trigger may
 * still get its row from there. The repair inserts with the row's deterministic insert id.
 */
export function planExecutionLogRepairs(input: {
  docs: readonly PhaseStateDoc[];
  loggedTriggerIds: ReadonlySet<string>;
  settledBefore: string;
}): ExecutionLogRepair[] {
  const settled = Date.parse(input.settledBefore);
  return input.docs.flatMap((doc) => {
    const t = doc.trigger;
    if (t === null || t.state !== "published" || t.publishedAt === null) return [];
    if (Date.parse(t.publishedAt) > settled || input.loggedTriggerIds.has(t.triggerId)) return [];
    return [{ docId: phaseStateDocId(doc.transitionId, doc.gameDate, doc.latchMode), transitionId: doc.transitionId, triggerId: t.triggerId }];
  });
}

// ---- phase_completion_status: one row per latch that triggered ----

/** A published trigger whose phase_completion_status row is missing, with the row to MERGE. */
export interface StatusRepair {
  docId: string;
  transitionId: string;
  triggerId: string;
  row: PhaseCompletionStatusRow;
}


/**
 * How long an orchestrator may take between its Firestore and its BigQuery write (one event, with
 * retries): the reconciler repairs only what is older, so it never races a writer still at work.
 */
export const RECONCILE_SETTLE_MS = 10 * 60_000;

/**
 * Published triggers whose aggregate row is missing (the call that latched died before its MERGE, and
 * nobody else writes it). Only triggers published before `settledBefore`, as for the execution log.
 * Each repair is one MERGE, keyed like the latcher's own, so a late write by the latcher is harmless.
 */
export function planStatusRepairs(input: {
  docs: readonly PhaseStateDoc[];
  transitions: readonly Transition[];
  statusTriggerIds: ReadonlySet<string>;
  settledBefore: string;
}): StatusRepair[] {
  const settled = Date.parse(input.settledBefore);
  const byId = new Map(input.transitions.map((t) => [t.id, t]));
  return input.docs.flatMap((doc) => {
    const t = doc.trigger;
    const transition = byId.get(doc.transitionId);
    if (t === null || transition === undefined || t.state !== "published" || t.publishedAt === null) return [];
    if (Date.parse(t.publishedAt) > settled || input.statusTriggerIds.has(t.triggerId)) return [];
    return [{ docId: phaseStateDocId(doc.transitionId, doc.gameDate, doc.latchMode), transitionId: doc.transitionId, triggerId: t.triggerId, row: latchedStatusRowOf(doc, transition) }];
  });
}

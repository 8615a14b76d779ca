// The reconciler's plan: which side lacks which completion, decided with the writer's own rule
// (applyCompletion) and the deterministic insert id; applying a plan leaves nothing to repair.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyCompletion,
  decideFor,
  latchTrigger,
  markPublished,
  phaseStateDocId,
  type PhaseStateDoc,
  type ResolvedCompletion,
} from "../../functions/core/phase-state.ts";
import { completionFromRow, planExecutionLogRepairs, planReconciliation } from "../../functions/core/reconcile-rules.ts";
import type { PhaseCompletionRow } from "../../functions/core/tables.ts";
import { buildCompletionRow } from "../../functions/lib/bigquery-store.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import { completion, docWith, MINUTE, PIPELINE, transitionOf } from "./support.ts";

const PHASE4 = transitionOf(PIPELINE, "phase4-to-phase5");
const PHASE5 = transitionOf(PIPELINE, "phase5-to-phase6");
const NAMES = PHASE4.processors.map((p) => p.name);
const GAME_DATE = "2026-01-15";
const T0 = new Date("2026-01-16T08:00:00.000Z");
const at = (m: number) => new Date(T0.getTime() + m * MINUTE);

/** The row the tracker inserts for a completion recorded at `recordedAt` (tracker.completionRow). */
function rowOf(transition: Transition, c: ResolvedCompletion, recordedAt: Date, mode = "daily"): PhaseCompletionRow {
  const row: Omit<PhaseCompletionRow, "insert_id"> = {
    phase: transition.phaseWireName,
    transition_id: transition.id,
    game_date: c.gameDate,
    mode,
    processor_name: c.processor,
    reported_name: c.reportedName,
    status: c.status,
    execution_id: c.executionId,
    correlation_id: c.correlationId,
    completed_at: c.completedAt,
    recorded_at: recordedAt.toISOString(),
    record_count: 10,
    records_failed: 0,
    duration_seconds: 1.5,
    completion_pct: c.completionPct ?? null,
    message_id: c.messageId,
    metadata: null,
  };
  return { ...row, insert_id: insertIdOf(row) };
}

/** The store's own id, as the reconciler passes it. */
const insertIdOf = (row: Omit<PhaseCompletionRow, "insert_id">) => buildCompletionRow(row).insert_id;

function planFor(input: { docs: PhaseStateDoc[]; rows: PhaseCompletionRow[] }) {
  return planReconciliation({ transitions: PIPELINE.transitions, insertIdOf, ...input });
}

describe("reconcile rules: planReconciliation", () => {
  it("a completion only in BigQuery goes to Firestore, with its original recorded time and latch", () => {
    const c = completion(NAMES[0]!, GAME_DATE, at(0));
    const result = planFor({ docs: [], rows: [rowOf(PHASE4, c, at(1))] });
    assert.equal(result.toBigQuery.length, 0);
    assert.equal(result.toFirestore.length, 1);
    const repair = result.toFirestore[0]!;
    assert.equal(repair.docId, phaseStateDocId(PHASE4.id, GAME_DATE, "daily"));
    assert.equal(repair.recordedAt, at(1).toISOString());
    assert.equal(repair.completion.executionId, c.executionId);
    assert.equal(repair.completion.messageId, c.messageId);
  });

  it("an entry only in Firestore goes to BigQuery under the tracker's deterministic insert id", () => {
    const c = completion(NAMES[1]!, GAME_DATE, at(0));
    const doc = docWith(PHASE4, GAME_DATE, [c], T0);
    const result = planFor({ docs: [doc], rows: [] });
    assert.equal(result.toFirestore.length, 0);
    assert.equal(result.toBigQuery.length, 1);
    const repair = result.toBigQuery[0]!;
    assert.equal(repair.insertId, insertIdOf(repair.row));
    assert.match(repair.insertId, /^c-[0-9a-f]{64}$/);
    assert.equal(repair.row.execution_id, c.executionId);
    assert.equal(repair.row.mode, "daily");
    assert.equal(repair.row.phase, PHASE4.phaseWireName);
  });

  it("an entry recorded after settledBefore is left alone (its orchestrator may still be writing the row)", () => {
    const c = completion(NAMES[1]!, GAME_DATE, at(0));
    const doc = docWith(PHASE4, GAME_DATE, [c], T0);
    const recorded = doc.entries[NAMES[1]!]!.recordedAt;
    const early = planReconciliation({ transitions: PIPELINE.transitions, insertIdOf, docs: [doc], rows: [], settledBefore: new Date(Date.parse(recorded) - 1).toISOString() });
    assert.deepEqual(early.toBigQuery, []);
    const settled = planReconciliation({ transitions: PIPELINE.transitions, insertIdOf, docs: [doc], rows: [], settledBefore: recorded });
    assert.equal(settled.toBigQuery.length, 1);
  });

  it("in both: nothing; a superseded failure in BigQuery is not 'missing' from Firestore", () => {
    const failed = completion(NAMES[0]!, GAME_DATE, at(0), { status: "failed" });
    const success = completion(NAMES[0]!, GAME_DATE, at(10));
    const doc = docWith(PHASE4, GAME_DATE, [success], T0);
    const result = planFor({ docs: [doc], rows: [rowOf(PHASE4, failed, at(0)), rowOf(PHASE4, success, at(10))] });
    assert.deepEqual(result.toFirestore, []);
    assert.deepEqual(result.toBigQuery, []);
    assert.deepEqual(result.checked, { firestoreDocs: 1, firestoreEntries: 1, bigqueryRows: 2 });
  });

  it("a later success only in BigQuery replaces Firestore's failure; one repair per processor", () => {
    const failed = completion(NAMES[0]!, GAME_DATE, at(0), { status: "failed" });
    const retry1 = completion(NAMES[0]!, GAME_DATE, at(5), { status: "partial" });
    const retry2 = completion(NAMES[0]!, GAME_DATE, at(9));
    const doc = docWith(PHASE4, GAME_DATE, [failed], T0);
    const rows = [rowOf(PHASE4, retry2, at(9)), rowOf(PHASE4, failed, at(0)), rowOf(PHASE4, retry1, at(5))];
    const result = planFor({ docs: [doc], rows });
    assert.equal(result.toFirestore.length, 1);
    assert.equal(result.toFirestore[0]!.completion.executionId, retry2.executionId);
  });

  it("rows it cannot replay are reported, not guessed at", () => {
    const c = completion(NAMES[0]!, GAME_DATE, at(0));
    const rows = [
      { ...rowOf(PHASE4, c, at(0)), transition_id: "phase9-to-phase10" },
      { ...rowOf(PHASE4, c, at(0)), mode: "same_day" },
      { ...rowOf(PHASE4, c, at(0)), recorded_at: "yesterday-ish" },
      { ...rowOf(PHASE5, completion("prediction_coordinator", GAME_DATE, at(0)), at(0)), metadata: "{not json" },
    ];
    const result = planFor({ docs: [], rows });
    assert.equal(result.toFirestore.length, 0);
    assert.deepEqual(
      result.unrepairable.map((u) => u.problem).sort(),
      [
        'transition "phase9-to-phase10" is not in the pipeline',
        'mode "same_day" is not a latch mode of phase4-to-phase5',
        "completed_at or recorded_at is not a timestamp",
        "metadata is not a JSON object",
      ].sort(),
    );
  });

  it("phase 5 rows carry the coordinator's batch and predictions into the replayed completion", () => {
    const c = completion("prediction_coordinator", GAME_DATE, at(0), { completionPct: 92, executionId: "batch_x" });
    const row = { ...rowOf(PHASE5, c, at(0)), metadata: JSON.stringify({ batch_id: "batch_2026-01-15_1", completed_predictions: 400 }) };
    const replay = completionFromRow(row, PHASE5, insertIdOf);
    assert.ok(replay.ok);
    assert.equal(replay.completion.batchId, "batch_2026-01-15_1");
    assert.equal(replay.completion.completedPredictions, 400);
    assert.equal(replay.completion.completionPct, 92);
  });

  it("property: after applying a plan to both sides, the next plan repairs nothing", () => {
    const side = fc.constantFrom("both", "firestore", "bigquery", "neither");
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...NAMES), side, fc.boolean(), fc.integer({ min: 0, max: 300 })), { maxLength: 12 }), (items) => {
        let docs: PhaseStateDoc[] = [];
        const rows: PhaseCompletionRow[] = [];
        const inFirestore: ResolvedCompletion[] = [];
        for (const [name, where, ok, minute] of items) {
          const c = completion(name, GAME_DATE, at(minute), { status: ok ? "success" : "failed" });
          if (where === "both" || where === "firestore") inFirestore.push(c);
          if (where === "both" || where === "bigquery") rows.push(rowOf(PHASE4, c, at(minute)));
        }
        if (inFirestore.length > 0) docs = [docWith(PHASE4, GAME_DATE, inFirestore, T0)];
        const result = planFor({ docs, rows });
        // Apply it as the reconciler does: Firestore through applyCompletion, BigQuery by inserting the row.
        const byId = new Map(docs.map((d) => [phaseStateDocId(d.transitionId, d.gameDate, d.latchMode), d]));
        for (const r of result.toFirestore) {
          const current = byId.get(r.docId) ?? docWith(PHASE4, GAME_DATE, [], T0);
          byId.set(r.docId, applyCompletion(current, r.completion, new Date(r.recordedAt)).doc);
        }
        const repairedRows = [...rows, ...result.toBigQuery.map((b) => ({ ...b.row, insert_id: b.insertId }))];
        const again = planFor({ docs: [...byId.values()], rows: repairedRows });
        assert.deepEqual(again.toFirestore, []);
        assert.deepEqual(again.toBigQuery, []);
        // Every counting completion known to either side is now counted in Firestore.
        const doc = byId.get(phaseStateDocId(PHASE4.id, GAME_DATE, "daily"));
        const counting = new Set(items.filter(([, where, ok]) => ok && where !== "neither").map(([name]) => name));
        for (const name of counting) assert.ok(doc && ["success", "partial"].includes(doc.entries[name]!.status), name);
      }),
    );
  });
});

describe("reconcile rules: execution-log repairs", () => {
  /** A phase 4 document whose trigger latched at `latchedAt` and, if `publishedAt`, was published then. */
  function triggered(gameDate: string, latchedAt: Date, publishedAt: Date | null): PhaseStateDoc {
    const doc = docWith(PHASE4, gameDate, NAMES.map((n) => completion(n, gameDate, latchedAt)), latchedAt);
    const decision = decideFor(doc, PHASE4, latchedAt, PIPELINE.timeZone);
    assert.equal(decision.trigger, true);
    const latched = latchTrigger(doc, PHASE4, decision, { correlationId: `corr-${gameDate}` }, latchedAt);
    return publishedAt === null ? latched : markPublished(latched, "msg-1", publishedAt);
  }

  it("repairs exactly the published, settled triggers that have no row", () => {
    const settledBefore = at(60).toISOString();
    const missing = triggered("2026-01-10", at(0), at(1));
    const logged = triggered("2026-01-11", at(0), at(1));
    const young = triggered("2026-01-12", at(0), at(61));
    const pending = triggered("2026-01-13", at(0), null);
    const untriggered = docWith(PHASE4, "2026-01-14", [completion(NAMES[0]!, "2026-01-14", T0)], T0);
    const repairs = planExecutionLogRepairs({
      docs: [missing, logged, young, pending, untriggered],
      loggedTriggerIds: new Set([logged.trigger!.triggerId]),
      settledBefore,
    });
    assert.deepEqual(repairs, [
      { docId: phaseStateDocId(PHASE4.id, "2026-01-10", "daily"), transitionId: PHASE4.id, triggerId: missing.trigger!.triggerId },
    ]);
  });

  it("after the repair rows exist, nothing is left to repair (property: any mix of documents)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 28 }), fc.boolean(), fc.integer({ min: 0, max: 120 })), { maxLength: 8, selector: (t) => t[0] }), (specs) => {
        const docs = specs.map(([day, published, minute]) => triggered(`2026-02-${String(day).padStart(2, "0")}`, at(0), published ? at(minute) : null));
        const settledBefore = at(60).toISOString();
        const first = planExecutionLogRepairs({ docs, loggedTriggerIds: new Set(), settledBefore });
        for (const r of first) {
          const doc = docs.find((d) => d.trigger?.triggerId === r.triggerId)!;
          assert.equal(doc.trigger!.state, "published");
          assert.ok(Date.parse(doc.trigger!.publishedAt!) <= Date.parse(settledBefore));
        }
        const after = planExecutionLogRepairs({ docs, loggedTriggerIds: new Set(first.map((r) => r.triggerId)), settledBefore });
        assert.deepEqual(after, []);
      }),
    );
  });
});

import { strict as assert } from "node:assert";
import { buildCompletionRow, completionRecordOf, completionRowInsertId, type CompletionRowSource } from "../../functions/core/completion-row.ts";
import { completionInsertId } from "../../functions/core/tables.ts";

const transition = { id: "phase4-to-phase5", phaseWireName: "phase_4_precompute" };
const source: CompletionRowSource = {
  processor: "ml_feature_store",
  reportedName: "MLFeatureStoreProcessor",
  status: "success",
  executionId: "exec-1",
  correlationId: "corr-1",
  completedAt: "2026-03-01T10:00:00.000Z",
  messageId: "m-1",
};
const recordedAt = "2026-03-01T10:00:05.000Z";
const idOf = (status: string, suffix = "") => completionInsertId(transition.id, "2026-03-01", "daily", "ml_feature_store", `exec-1/${status}${suffix}`);

describe("completion row builder (functions/core/completion-row.ts)", () => {
  const cases: { name: string; source: CompletionRowSource; facts?: Parameters<typeof completionRecordOf>[5]; expect: Record<string, unknown> }[] = [
    {
      name: "a message without facts: nulls, metadata null, id from execution and status",
      source,
      expect: { record_count: null, records_failed: null, duration_seconds: null, completion_pct: null, metadata: null, insert_id: idOf("success") },
    },
    {
      name: "the message's facts and metadata object (serialised to JSON text)",
      source,
      facts: { recordCount: 12, recordsFailed: 1, durationSeconds: 3.5, metadata: { a: 1 } },
      expect: { record_count: 12, records_failed: 1, duration_seconds: 3.5, metadata: '{"a":1}', insert_id: idOf("success") },
    },
    {
      name: "a failed run: the status is part of the id",
      source: { ...source, status: "failed" },
      expect: { status: "failed", insert_id: idOf("failed") },
    },
    {
      name: "completion_pct present: the insert id includes it",
      source: { ...source, completionPct: 87.5 },
      expect: { completion_pct: 87.5, insert_id: idOf("success", "/87.5") },
    },
    {
      name: "completion_pct 0 is present too",
      source: { ...source, completionPct: 0 },
      expect: { completion_pct: 0, insert_id: idOf("success", "/0") },
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const row = buildCompletionRow(completionRecordOf(transition, "2026-03-01", "daily", t.source, recordedAt, t.facts));
      assert.deepEqual(
        {
          phase: row.phase,
          transition_id: row.transition_id,
          game_date: row.game_date,
          mode: row.mode,
          processor_name: row.processor_name,
          reported_name: row.reported_name,
          execution_id: row.execution_id,
          correlation_id: row.correlation_id,
          completed_at: row.completed_at,
          recorded_at: row.recorded_at,
          message_id: row.message_id,
        },
        {
          phase: "phase_4_precompute",
          transition_id: transition.id,
          game_date: "2026-03-01",
          mode: "daily",
          processor_name: "ml_feature_store",
          reported_name: "MLFeatureStoreProcessor",
          execution_id: "exec-1",
          correlation_id: "corr-1",
          completed_at: source.completedAt,
          recorded_at: recordedAt,
          message_id: "m-1",
        },
      );
      for (const [column, value] of Object.entries(t.expect)) assert.deepEqual(row[column as keyof typeof row], value, column);
    });
  }

  it("progress re-reports of one batch get different ids; a redelivery gets the same", () => {
    const at = (pct: number | undefined) => buildCompletionRow(completionRecordOf(transition, "2026-03-01", "daily", { ...source, completionPct: pct }, recordedAt)).insert_id;
    assert.notEqual(at(50), at(90));
    assert.notEqual(at(undefined), at(90));
    assert.equal(at(90), at(90));
  });

  it("metadata already JSON text is kept as is; the id does not depend on recorded_at or facts", () => {
    const a = buildCompletionRow({ ...completionRecordOf(transition, "2026-03-01", "daily", source, recordedAt), metadata: '{"x":2}' });
    const b = buildCompletionRow(completionRecordOf(transition, "2026-03-01", "daily", source, "2026-03-02T00:00:00.000Z", { recordCount: 5 }));
    assert.equal(a.metadata, '{"x":2}');
    assert.equal(a.insert_id, b.insert_id);
    assert.equal(completionRowInsertId(a), a.insert_id);
  });
});

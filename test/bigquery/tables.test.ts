// The table definitions: what infra declares (schema JSON, partitioning, clustering, expiry) and
// the deterministic insert ids. Pure.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  completionInsertId,
  DEFAULT_DATASET_ID,
  executionLogInsertId,
  FIELD_TYPES,
  MAX_INSERT_ID_LENGTH,
  ORCHESTRATION_TABLES,
  PHASE_COMPLETION_STATUS,
  PHASE_COMPLETIONS,
  PHASE_EXECUTION_LOG,
  toBigQuerySchemaJson,
} from "../../functions/core/tables.ts";

describe("tables.ts: the orchestration dataset", () => {
  it("declares the three tables of docs/ARCHITECTURE.md in the nba_orchestration dataset by default", () => {
    assert.equal(DEFAULT_DATASET_ID, "nba_orchestration");
    assert.deepEqual(
      ORCHESTRATION_TABLES.map((t) => t.name),
      ["phase_completions", "phase_completion_status", "phase_execution_log"],
    );
  });

  it("partitions every table by DAY on game_date; only the execution log expires (90 days)", () => {
    for (const table of ORCHESTRATION_TABLES) {
      assert.equal(table.timePartitioning.type, "DAY", table.name);
      assert.equal(table.timePartitioning.field, "game_date", table.name);
      const field = table.fields.find((f) => f.name === "game_date");
      assert.equal(field?.type, "DATE", `${table.name}.game_date is a DATE`);
      assert.equal(field?.mode, "REQUIRED");
    }
    assert.equal(PHASE_EXECUTION_LOG.timePartitioning.expirationMs, 90 * 24 * 3600 * 1000);
    assert.equal("expirationMs" in PHASE_COMPLETIONS.timePartitioning, false);
    assert.equal("expirationMs" in PHASE_COMPLETION_STATUS.timePartitioning, false);
  });

  it("clusters phase_completions by phase, processor_name; every clustering column exists", () => {
    assert.deepEqual([...PHASE_COMPLETIONS.clustering], ["phase", "processor_name"]);
    for (const table of ORCHESTRATION_TABLES) {
      assert.ok(table.clustering.length <= 4, "BigQuery allows at most 4 clustering columns");
      for (const column of table.clustering) {
        assert.ok(table.fields.some((f) => f.name === column), `${table.name} clusters on missing ${column}`);
      }
    }
  });

  it("has the columns the runtime records", () => {
    const names = (t: { fields: readonly { name: string }[] }) => t.fields.map((f) => f.name);
    for (const column of ["phase", "transition_id", "game_date", "mode", "processor_name", "reported_name", "status",
      "execution_id", "correlation_id", "completed_at", "recorded_at", "record_count", "records_failed",
      "duration_seconds", "completion_pct", "message_id", "insert_id", "metadata"]) {
      assert.ok(names(PHASE_COMPLETIONS).includes(column), `phase_completions.${column}`);
    }
    assert.equal(PHASE_COMPLETION_STATUS.fields.find((f) => f.name === "complete_processors")?.mode, "REPEATED");
    assert.equal(PHASE_COMPLETION_STATUS.fields.find((f) => f.name === "triggered")?.type, "BOOLEAN");
    for (const column of ["expected_processors", "complete_processors", "missing_processors"]) {
      assert.equal(PHASE_EXECUTION_LOG.fields.find((f) => f.name === column)?.mode, "REPEATED", column);
    }
    assert.equal(PHASE_COMPLETIONS.fields.find((f) => f.name === "metadata")?.type, "STRING", "metadata is JSON text");
  });

  it("toBigQuerySchemaJson gives the provider's schema JSON: name/type/mode/description, API type names, unique names", () => {
    for (const table of ORCHESTRATION_TABLES) {
      const parsed = JSON.parse(toBigQuerySchemaJson(table)) as Record<string, unknown>[];
      assert.equal(parsed.length, table.fields.length);
      const names = parsed.map((f) => f["name"]);
      assert.equal(new Set(names).size, names.length, `${table.name}: duplicate column`);
      for (const field of parsed) {
        assert.deepEqual(Object.keys(field).sort(), ["description", "mode", "name", "type"]);
        assert.ok((FIELD_TYPES as readonly unknown[]).includes(field["type"]), `${String(field["type"])} is an API type name`);
        assert.match(String(field["name"]), /^[a-z_][a-z0-9_]*$/);
        assert.ok(String(field["description"]).length > 0);
      }
    }
  });
});

describe("tables.ts: deterministic insert ids", () => {
  const part = fc.string({ maxLength: 40 });

  it("completionInsertId is a function of its inputs, <= 128 chars", () => {
    fc.assert(
      fc.property(part, part, part, part, part, (t, d, m, p, e) => {
        const id = completionInsertId(t, d, m, p, e);
        assert.equal(id, completionInsertId(t, d, m, p, e));
        assert.ok(id.length <= MAX_INSERT_ID_LENGTH);
        assert.match(id, /^c-[0-9a-f]{64}$/);
      }),
    );
  });

  it("completionInsertId differs when any one input differs (also when a separator moves between parts)", () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 5, maxLength: 5 }), fc.nat({ max: 4 }), part, (parts, index, replacement) => {
        fc.pre(parts[index] !== replacement);
        const changed = [...parts];
        changed[index] = replacement;
        const [a, b, c, d, e] = parts as [string, string, string, string, string];
        const [a2, b2, c2, d2, e2] = changed as [string, string, string, string, string];
        assert.notEqual(completionInsertId(a, b, c, d, e), completionInsertId(a2, b2, c2, d2, e2));
      }),
    );
    assert.notEqual(completionInsertId("a|b", "c", "m", "p", "e"), completionInsertId("a", "b|c", "m", "p", "e"));
  });

  it("the same completion in another mode (same-day vs overnight) gets another id", () => {
    assert.notEqual(
      completionInsertId("phase3-to-phase4", "2026-01-15", "same_day", "upcoming_player_game_context", "x1"),
      completionInsertId("phase3-to-phase4", "2026-01-15", "overnight", "upcoming_player_game_context", "x1"),
    );
  });

  it("executionLogInsertId is one per trigger id", () => {
    assert.equal(executionLogInsertId("t-1"), executionLogInsertId("t-1"));
    assert.notEqual(executionLogInsertId("t-1"), executionLogInsertId("t-2"));
    assert.ok(executionLogInsertId("t".repeat(1000)).length <= MAX_INSERT_ID_LENGTH);
  });
});

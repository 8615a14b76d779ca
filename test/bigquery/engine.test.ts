// The fake's SQL subset and value rules, without HTTP: the WHERE operators the fake claims to
// support behave like BigQuery's (three-valued NULL logic included), and timestamps keep microseconds.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApiFailure, FakeEngine } from "../../tools/bigquery-fake/engine.ts";
import { SqlError } from "../../tools/bigquery-fake/sql.ts";
import { formatTimestampMicros, parseTimestampMicros, ValueError } from "../../tools/bigquery-fake/values.ts";

const P = "demo-test";

function engineWithRows(): FakeEngine {
  const engine = new FakeEngine(P);
  engine.createDataset(P, "ds", "US");
  engine.createTable(P, "ds", "t", {
    schema: {
      fields: [
        { name: "id", type: "INTEGER", mode: "REQUIRED" },
        { name: "name", type: "STRING", mode: "NULLABLE" },
        { name: "day", type: "DATE", mode: "NULLABLE" },
        { name: "at", type: "TIMESTAMP", mode: "NULLABLE" },
        { name: "tags", type: "STRING", mode: "REPEATED" },
      ],
    },
  });
  const errors = engine.insertAll(P, "ds", "t", {
    rows: [
      { json: { id: 1, name: "a", day: "2026-01-01", at: "2026-01-01T00:00:00.000001Z", tags: ["x"] } },
      { json: { id: 2, name: "b", day: "2026-01-02", at: "2026-01-02T00:00:00Z" } },
      { json: { id: 3, name: null, day: "2026-01-03" } },
      { json: { id: 4, name: "d", day: null } },
    ],
  });
  assert.deepEqual(errors, []);
  return engine;
}

const ids = (engine: FakeEngine, where: string, params: { name: string; type: string; value: unknown }[] = []) =>
  (
    engine.query(
      P,
      `SELECT id FROM \`${P}.ds.t\` WHERE ${where} ORDER BY id`,
      params.map((p) =>
        p.type === "ARRAY"
          ? { name: p.name, parameterType: { type: "ARRAY", arrayType: { type: "STRING" } }, parameterValue: { arrayValues: (p.value as string[]).map((value) => ({ value })) } }
          : { name: p.name, parameterType: { type: p.type }, parameterValue: { value: p.value } },
      ),
    ).rows ?? []
  ).map((r) => r["id"]);

describe("BigQuery fake engine: SELECT subset", () => {
  const engine = engineWithRows();

  it("=, !=, <, <=, >, >=, BETWEEN over literals and parameters", () => {
    assert.deepEqual(ids(engine, "name = 'b'"), [2]);
    assert.deepEqual(ids(engine, "name != 'b'"), [1, 4], "NULL != 'b' is NULL, not true");
    assert.deepEqual(ids(engine, "id < 2 OR id >= 4"), [1, 4]);
    assert.deepEqual(ids(engine, "day BETWEEN @from AND @to", [{ name: "from", type: "DATE", value: "2026-01-02" }, { name: "to", type: "DATE", value: "2026-01-03" }]), [2, 3]);
    assert.deepEqual(ids(engine, "at > @t", [{ name: "t", type: "TIMESTAMP", value: "2026-01-01T00:00:00Z" }]), [1, 2], "microsecond precision");
  });

  it("IN lists, IN UNNEST(@array), NOT, IS [NOT] NULL", () => {
    assert.deepEqual(ids(engine, "name IN ('a', 'd')"), [1, 4]);
    assert.deepEqual(ids(engine, "name IN UNNEST(@names)", [{ name: "names", type: "ARRAY", value: ["b", "d"] }]), [2, 4]);
    assert.deepEqual(ids(engine, "NOT (name = 'a')"), [2, 4]);
    assert.deepEqual(ids(engine, "name IS NULL"), [3]);
    assert.deepEqual(ids(engine, "day IS NOT NULL AND name IS NOT NULL"), [1, 2]);
  });

  it("ORDER BY DESC and LIMIT", () => {
    const rows = engine.query(P, `SELECT id, name FROM ds.t ORDER BY id DESC LIMIT 2`).rows ?? [];
    assert.deepEqual(rows, [{ id: 4, name: "d" }, { id: 3, name: null }]);
  });

  it("type mismatches, unknown columns and tables are errors, not empty results", () => {
    assert.throws(() => ids(engine, "id = 'one'"), SqlError);
    assert.throws(() => ids(engine, "nope = 1"), /Unrecognized name: nope/);
    assert.throws(() => engine.query(P, "SELECT id FROM ds.missing"), (err: unknown) => err instanceof ApiFailure && err.status === 404);
  });
});

describe("BigQuery fake values: timestamps", () => {
  it("parses RFC 3339 with offsets and BigQuery's space form to the same instant", () => {
    const utc = parseTimestampMicros("2026-01-16T09:12:33.123456Z");
    assert.equal(parseTimestampMicros("2026-01-16T04:12:33.123456-05:00"), utc);
    assert.equal(parseTimestampMicros("2026-01-16 09:12:33.123456 UTC"), utc);
    assert.equal(parseTimestampMicros("2026-01-16T09:12:33.123456+00:00"), utc);
    assert.throws(() => parseTimestampMicros("2026-01-16"), ValueError);
    assert.throws(() => parseTimestampMicros("2026-02-30T00:00:00Z"), ValueError);
  });

  it("format/parse round-trips every microsecond instant", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000_000 }), (micros) => {
        assert.equal(parseTimestampMicros(formatTimestampMicros(micros)), micros);
      }),
    );
  });
});

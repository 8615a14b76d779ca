// Every statement of functions/lib/bigquery-sql.ts parses with node-sql-parser's BigQuery dialect.
// node-sql-parser has no MERGE grammar, so the MERGE is checked clause by clause through the
// fake's parseMerge (each clause parsed by node-sql-parser), plus its structure.
import assert from "node:assert/strict";
import fc from "fast-check";
import nodeSqlParser from "node-sql-parser";
import { fieldNames, PHASE_COMPLETION_STATUS, PHASE_COMPLETIONS } from "../../functions/core/tables.ts";
import {
  completionsSelectStatement,
  InvalidIdentifierError,
  type SqlStatement,
  statusMergeStatement,
  statusSelectStatement,
  statusTriggerIdsStatement,
  tableRef,
} from "../../functions/lib/bigquery-sql.ts";
import { parseMerge, SqlError } from "../../tools/bigquery-fake/sql.ts";

const parser = new nodeSqlParser.Parser();
const LOCATION = { projectId: "demo-test", datasetId: "nba_orchestration" };

function paramsIn(sql: string): string[] {
  return [...new Set([...sql.matchAll(/@([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string))].sort();
}

function assertOnlyParameters(statement: SqlStatement): void {
  // Values never appear in the text: no string literals; every @param is declared and used.
  assert.doesNotMatch(statement.sql, /['"]/, "no string literals in the SQL text");
  assert.deepEqual(paramsIn(statement.sql), Object.keys(statement.types).sort());
}

describe("bigquery-sql: the SELECT statements parse (BigQuery dialect)", () => {
  const selects: [string, SqlStatement][] = [
    ["completions, all transitions", completionsSelectStatement(LOCATION, { withTransition: false })],
    ["completions, one transition", completionsSelectStatement(LOCATION, { withTransition: true })],
    ["status, all phases", statusSelectStatement(LOCATION, { withPhase: false })],
    ["status, one phase", statusSelectStatement(LOCATION, { withPhase: true })],
    ["status trigger ids", statusTriggerIdsStatement(LOCATION)],
  ];
  for (const [name, statement] of selects) {
    it(name, () => {
      const ast = parser.astify(statement.sql, { database: "bigquery" });
      const select = (Array.isArray(ast) ? ast[0] : ast) as unknown as Record<string, unknown>;
      assert.equal(select["type"], "select");
      assertOnlyParameters(statement);
    });
  }

  it("the completions select reads every column of phase_completions and filters the partition column", () => {
    const { sql } = completionsSelectStatement(LOCATION, { withTransition: true });
    assert.ok(sql.includes(`SELECT ${fieldNames(PHASE_COMPLETIONS).join(", ")}`));
    assert.ok(sql.includes("FROM `demo-test.nba_orchestration.phase_completions`"));
    assert.match(sql, /game_date BETWEEN @from_date AND @to_date/);
  });

  it("the parser used here does reject broken SQL (the check can fail)", () => {
    assert.throws(() => parser.astify("SELEC phase FROM t", { database: "bigquery" }));
  });
});

describe("bigquery-sql: the status MERGE", () => {
  const statement = statusMergeStatement(LOCATION);

  it("parses clause by clause with node-sql-parser (BigQuery dialect)", () => {
    const merge = parseMerge(statement.sql);
    assert.deepEqual(merge.target, { projectId: "demo-test", datasetId: "nba_orchestration", tableId: "phase_completion_status" });
    assert.equal(merge.targetAlias, "target");
    assert.equal(merge.sourceAlias, "source");
    assert.equal(merge.clauses.length, 2);
    const [matched, notMatched] = merge.clauses;
    assert.ok(matched?.matched && matched.cond !== null, "WHEN MATCHED AND <guard> THEN UPDATE");
    assert.ok(notMatched && !notMatched.matched);
    assert.deepEqual(notMatched.columns, fieldNames(PHASE_COMPLETION_STATUS), "INSERT writes every column");
    assertOnlyParameters(statement);
  });

  it("keys on game_date, phase and mode compared with parameters (partition pruning), and never updates the keys", () => {
    const merge = parseMerge(statement.sql);
    const keys: string[] = [];
    const walk = (e: typeof merge.on): void => {
      if (e.k === "and") {
        walk(e.left);
        walk(e.right);
      } else if (e.k === "cmp" && e.op === "=" && e.left.k === "col" && e.right.k === "param") {
        assert.equal(e.left.table, "target");
        assert.equal(e.left.name, e.right.name);
        keys.push(e.left.name);
      } else {
        assert.fail(`unexpected ON term ${JSON.stringify(e)}`);
      }
    };
    walk(merge.on);
    assert.deepEqual(keys.sort(), ["game_date", "mode", "phase"]);
    const matched = merge.clauses[0];
    assert.ok(matched?.matched);
    const updated = matched.set.map((s) => s.column);
    for (const key of keys) assert.ok(!updated.includes(key), `key ${key} is not updated`);
    assert.deepEqual(updated.sort(), fieldNames(PHASE_COMPLETION_STATUS).filter((c) => !keys.includes(c)).sort());
  });

  it("the MERGE check rejects malformed MERGEs (it is a real check)", () => {
    const broken = [
      statement.sql.replace("WHEN NOT MATCHED THEN", "WHEN NOT MATCHED"),
      statement.sql.replace("UPDATE SET transition_id = source.transition_id", "UPDATE SET transition_id == source.transition_id"),
      statement.sql.replace("USING (SELECT", "USING (SELEC"),
      statement.sql.replace(" AND target.mode = @mode", " AND AND target.mode = @mode"),
      statement.sql.replace("INSERT (phase,", "INSERT (phase"),
    ];
    for (const sql of broken) {
      assert.notEqual(sql, statement.sql, "the mutation applied");
      assert.throws(() => parseMerge(sql), SqlError);
    }
  });
});

describe("bigquery-sql: table references come only from validated identifiers", () => {
  it("builds backquoted project.dataset.table", () => {
    assert.equal(tableRef(LOCATION, PHASE_COMPLETIONS), "`demo-test.nba_orchestration.phase_completions`");
  });

  it("rejects anything that could break out of the quoting", () => {
    for (const bad of ["ds`; DROP TABLE x; --", "ds.other", "ds name", "", "1ds", "ds-x"]) {
      assert.throws(() => tableRef({ projectId: "demo-test", datasetId: bad }, "t"), InvalidIdentifierError, bad);
      assert.throws(() => tableRef(LOCATION, bad), InvalidIdentifierError, bad);
    }
    for (const bad of ["Demo", "p`x", "p x", "p.q", "-p"]) {
      assert.throws(() => tableRef({ projectId: bad, datasetId: "ds" }, "t"), InvalidIdentifierError, bad);
    }
    assert.throws(() => statusMergeStatement({ projectId: "demo-test", datasetId: "x`y" }), InvalidIdentifierError);
  });

  it("property: an accepted identifier never contains quote, whitespace, dot or semicolon", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (name) => {
        let accepted = true;
        try {
          tableRef(LOCATION, name);
        } catch (err) {
          assert.ok(err instanceof InvalidIdentifierError);
          accepted = false;
        }
        if (accepted) assert.doesNotMatch(name, /[`'"\s.;]/);
      }),
    );
  });
});

// SQL front end of the BigQuery fake: node-sql-parser (BigQuery dialect) checks the syntax and
// gives the AST; this module turns the AST into the small IR the fake executes, and refuses
// (SqlError -> HTTP 400) anything outside the supported subset instead of pretending.
//
// node-sql-parser 5.x has no MERGE grammar in any dialect. A MERGE is therefore split at its
// top-level keywords (outside parentheses, quotes, backquotes and CASE...END) and every clause
// is parsed by node-sql-parser on its own, wrapped in a statement it does parse:
//   USING (<select>)             -> the select itself
//   ON <cond> / AND <cond>       -> SELECT 1 FROM __merge WHERE <cond>
//   UPDATE SET <assignments>     -> UPDATE __merge SET <assignments>
//   INSERT (<cols>) VALUES (...) -> INSERT INTO __merge (<cols>) VALUES (...)
// The skeleton itself (MERGE [INTO] t [AS] a USING ... ON ... WHEN ...) is checked by the splitter.
import nodeSqlParser from "node-sql-parser";

const { Parser } = nodeSqlParser;
const parser = new Parser();
const DIALECT = { database: "bigquery" } as const;

export class SqlError extends Error {
  override readonly name = "SqlError";
  /** BigQuery's error reason. */
  readonly reason: "invalidQuery";
  constructor(message: string) {
    super(message);
    this.reason = "invalidQuery";
  }
}

function unsupported(what: string): SqlError {
  return new SqlError(`Unsupported by the BigQuery fake: ${what}`);
}

// ---- IR ----

export type Expr =
  | { k: "col"; table: string | null; name: string }
  | { k: "param"; name: string }
  | { k: "lit"; value: string | number | boolean | null }
  | { k: "cmp"; op: "=" | "!=" | "<" | "<=" | ">" | ">="; left: Expr; right: Expr }
  | { k: "and" | "or"; left: Expr; right: Expr }
  | { k: "not"; expr: Expr }
  | { k: "isnull"; expr: Expr; negate: boolean }
  | { k: "between"; expr: Expr; low: Expr; high: Expr; negate: boolean }
  | { k: "in"; expr: Expr; list: Expr[]; negate: boolean }
  | { k: "inArray"; expr: Expr; array: Expr; negate: boolean };

export interface TableName {
  projectId: string | null;
  datasetId: string;
  tableId: string;
}

export interface SelectIR {
  kind: "select";
  columns: "*" | { expr: Expr; name: string }[];
  from: { table: TableName; alias: string | null } | null;
  where: Expr | null;
  orderBy: { expr: Expr; desc: boolean }[];
  limit: number | null;
}

export type MergeClause =
  | { matched: true; cond: Expr | null; set: { column: string; expr: Expr }[] }
  | { matched: false; cond: Expr | null; columns: string[]; values: Expr[] };

export interface MergeIR {
  kind: "merge";
  target: TableName;
  targetAlias: string;
  source: SelectIR;
  sourceAlias: string;
  on: Expr;
  clauses: MergeClause[];
}

export type StatementIR = SelectIR | MergeIR;

// ---- AST access (node-sql-parser's AST is loosely typed; narrow what we read) ----

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function astify(sql: string): unknown {
  try {
    return parser.astify(sql, DIALECT);
  } catch (err) {
    throw new SqlError(`Syntax error: ${(err as Error).message}`);
  }
}

function single(ast: unknown, what: string): Node {
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw unsupported(`${what}: exactly one statement expected, got ${ast.length}`);
    ast = ast[0];
  }
  if (!isNode(ast)) throw new SqlError(`Syntax error: could not parse ${what}`);
  return ast;
}

function columnName(column: unknown): string {
  if (typeof column === "string") return column;
  if (isNode(column) && isNode(column["expr"]) && typeof column["expr"]["value"] === "string") {
    return column["expr"]["value"];
  }
  throw unsupported(`column reference ${JSON.stringify(column)}`);
}

/** NOT is parsed as a function named NOT by node-sql-parser's BigQuery grammar. */
function functionName(node: Node): string | undefined {
  const name = node["name"];
  if (typeof name === "string") return name.toUpperCase();
  if (isNode(name)) {
    const schema = name["schema"];
    const parts = name["name"];
    if (Array.isArray(parts) && parts.length > 0) {
      return parts.map((p) => (isNode(p) ? String(p["value"]) : String(p))).join(".").toUpperCase();
    }
    if (isNode(schema) && typeof schema["value"] === "string") return schema["value"].toUpperCase();
  }
  return undefined;
}

function exprList(node: unknown): unknown[] {
  if (isNode(node) && node["type"] === "expr_list" && Array.isArray(node["value"])) return node["value"];
  throw unsupported(`expression list ${JSON.stringify(node)}`);
}

const CMP_OPS = new Set(["=", "!=", "<>", "<", "<=", ">", ">="]);

export function toExpr(node: unknown): Expr {
  if (!isNode(node)) throw unsupported(`expression ${JSON.stringify(node)}`);
  const type = node["type"];
  switch (type) {
    case "column_ref": {
      const name = columnName(node["column"]);
      if (name === "*") throw unsupported("* inside an expression");
      const table = typeof node["table"] === "string" ? node["table"] : null;
      return { k: "col", table, name };
    }
    case "param":
      return { k: "param", name: String(node["value"]) };
    case "number": {
      const value = Number(node["value"]);
      if (!Number.isFinite(value)) throw unsupported(`number literal ${String(node["value"])}`);
      return { k: "lit", value };
    }
    case "single_quote_string":
    case "double_quote_string":
    case "string":
      return { k: "lit", value: String(node["value"]) };
    case "bool":
      return { k: "lit", value: Boolean(node["value"]) };
    case "null":
      return { k: "lit", value: null };
    case "function": {
      const fn = functionName(node);
      if (fn === "NOT") {
        const [arg, ...rest] = exprList(node["args"]);
        if (rest.length > 0) throw unsupported("NOT with several arguments");
        return { k: "not", expr: toExpr(arg) };
      }
      throw unsupported(`function ${fn ?? "?"}()`);
    }
    case "unary_expr":
      if (String(node["operator"]).toUpperCase() === "NOT") return { k: "not", expr: toExpr(node["expr"]) };
      throw unsupported(`unary operator ${String(node["operator"])}`);
    case "binary_expr":
      return binaryToExpr(node);
    default:
      throw unsupported(`expression of type ${String(type)}`);
  }
}

function binaryToExpr(node: Node): Expr {
  const op = String(node["operator"]).toUpperCase();
  const left = node["left"];
  const right = node["right"];
  if (op === "AND" || op === "OR") return { k: op === "AND" ? "and" : "or", left: toExpr(left), right: toExpr(right) };
  if (CMP_OPS.has(op)) {
    if (isNode(right) && right["type"] === "null") {
      throw new SqlError(`Operator ${op} with NULL is never true; use IS NULL`);
    }
    return { k: "cmp", op: op === "<>" ? "!=" : (op as "=" | "!=" | "<" | "<=" | ">" | ">="), left: toExpr(left), right: toExpr(right) };
  }
  if (op === "IS" || op === "IS NOT") {
    if (!isNode(right) || right["type"] !== "null") throw unsupported(`${op} other than ${op} NULL`);
    return { k: "isnull", expr: toExpr(left), negate: op === "IS NOT" };
  }
  if (op === "BETWEEN" || op === "NOT BETWEEN") {
    const [low, high, ...rest] = exprList(right);
    if (low === undefined || high === undefined || rest.length > 0) throw new SqlError("BETWEEN needs two bounds");
    return { k: "between", expr: toExpr(left), low: toExpr(low), high: toExpr(high), negate: op === "NOT BETWEEN" };
  }
  if (op === "IN" || op === "NOT IN") {
    const negate = op === "NOT IN";
    if (isNode(right) && right["type"] === "unnest") return { k: "inArray", expr: toExpr(left), array: toExpr(right["expr"]), negate };
    return { k: "in", expr: toExpr(left), list: exprList(right).map(toExpr), negate };
  }
  throw unsupported(`operator ${op}`);
}

function tableNameOf(from: Node): TableName {
  const table = String(from["table"]);
  const schema = typeof from["schema"] === "string" ? from["schema"] : null;
  const catalog = typeof from["catalog"] === "string" ? from["catalog"] : null;
  const db = typeof from["db"] === "string" ? from["db"] : null;
  if (schema !== null) return { projectId: catalog ?? db, datasetId: schema, tableId: table };
  const parts = db !== null ? [db, ...table.split(".")] : table.split(".");
  if (parts.length === 3) return { projectId: parts[0] ?? null, datasetId: parts[1] ?? "", tableId: parts[2] ?? "" };
  if (parts.length === 2) return { projectId: null, datasetId: parts[0] ?? "", tableId: parts[1] ?? "" };
  throw new SqlError(`Table "${table}" must be qualified with a dataset (e.g. dataset.table)`);
}

const SELECT_KEYS_ALLOWED_NULL = ["distinct", "with", "groupby", "having", "qualify", "window", "for_sys_time_as_of"];

function toSelect(node: Node): SelectIR {
  if (node["type"] !== "select") throw unsupported(`statement type ${String(node["type"])}`);
  for (const key of SELECT_KEYS_ALLOWED_NULL) {
    if (node[key] !== null && node[key] !== undefined) throw unsupported(`SELECT with ${key.toUpperCase()}`);
  }
  if (node["as_struct_val"]) throw unsupported("SELECT AS STRUCT");
  const fromList = node["from"];
  let from: SelectIR["from"] = null;
  if (Array.isArray(fromList)) {
    if (fromList.length !== 1) throw unsupported("SELECT from more than one table (joins)");
    const entry = fromList[0];
    if (!isNode(entry) || typeof entry["table"] !== "string" || entry["join"] || entry["expr"]) {
      throw unsupported("FROM other than one table");
    }
    from = { table: tableNameOf(entry), alias: typeof entry["as"] === "string" ? entry["as"] : null };
  }
  const rawColumns = node["columns"];
  if (!Array.isArray(rawColumns)) throw unsupported("SELECT without a column list");
  let columns: SelectIR["columns"];
  const first = rawColumns[0];
  if (
    rawColumns.length === 1 &&
    isNode(first) &&
    isNode(first["expr"]) &&
    first["expr"]["type"] === "column_ref" &&
    first["expr"]["column"] === "*"
  ) {
    columns = "*";
  } else {
    columns = rawColumns.map((col, index) => {
      if (!isNode(col)) throw unsupported("column");
      const expr = toExpr(col["expr"]);
      const alias = typeof col["as"] === "string" ? col["as"] : null;
      const name = alias ?? (expr.k === "col" ? expr.name : `f${index}_`);
      return { expr, name };
    });
  }
  const orderBy = Array.isArray(node["orderby"])
    ? node["orderby"].map((item) => {
        if (!isNode(item)) throw unsupported("ORDER BY item");
        return { expr: toExpr(item["expr"]), desc: String(item["type"]).toUpperCase() === "DESC" };
      })
    : [];
  let limit: number | null = null;
  const rawLimit = node["limit"];
  if (isNode(rawLimit) && Array.isArray(rawLimit["value"]) && rawLimit["value"].length > 0) {
    const values = rawLimit["value"];
    if (values.length !== 1 || !isNode(values[0]) || values[0]["type"] !== "number") throw unsupported("LIMIT with OFFSET");
    limit = Number(values[0]["value"]);
  }
  return { kind: "select", columns, from, where: node["where"] ? toExpr(node["where"]) : null, orderBy, limit };
}

// ---- MERGE: top-level splitting ----

interface Token {
  word: string;
  start: number;
  end: number;
}

/** Upper-cased words at nesting depth 0 (outside (), quotes, backquotes, comments and CASE...END). */
function topLevelWords(sql: string): Token[] {
  const words: Token[] = [];
  let depth = 0;
  let caseDepth = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    if (ch === "'" || ch === '"' || ch === "`") {
      const close = sql.indexOf(ch, i + 1);
      if (close < 0) throw new SqlError("Syntax error: unclosed quote");
      i = close + 1;
      continue;
    }
    if (ch === "-" && sql[i + 1] === "-") {
      const eol = sql.indexOf("\n", i);
      i = eol < 0 ? sql.length : eol + 1;
      continue;
    }
    if (ch === "(") depth++;
    if (ch === ")") {
      depth--;
      if (depth < 0) throw new SqlError("Syntax error: unbalanced parentheses");
    }
    if (/[A-Za-z_]/.test(ch) && (i === 0 || !/[A-Za-z0-9_@.]/.test(sql[i - 1] as string))) {
      let end = i;
      while (end < sql.length && /[A-Za-z0-9_]/.test(sql[end] as string)) end++;
      const word = sql.slice(i, end).toUpperCase();
      if (word === "CASE") caseDepth++;
      else if (word === "END" && caseDepth > 0) caseDepth--;
      else if (depth === 0 && caseDepth === 0) words.push({ word, start: i, end });
      i = end;
      continue;
    }
    i++;
  }
  if (depth !== 0) throw new SqlError("Syntax error: unbalanced parentheses");
  return words;
}

function parseWhere(cond: string, what: string): Expr {
  const ast = single(astify(`SELECT 1 FROM __merge WHERE ${cond}`), what);
  return toExpr(ast["where"]);
}

const IDENT = "[A-Za-z_][A-Za-z0-9_]*";
const TABLE_PATH = "`[^`]+`|[A-Za-z_][A-Za-z0-9_.-]*";

function parseMergeTarget(text: string): { table: TableName; alias: string } {
  const m = new RegExp(`^\\s*(?:INTO\\s+)?(${TABLE_PATH})(?:\\s+(?:AS\\s+)?(${IDENT}))?\\s*$`, "i").exec(text);
  if (!m) throw new SqlError(`Syntax error: MERGE target "${text.trim()}"`);
  const path = (m[1] as string).replace(/`/g, "");
  const ast = single(astify(`SELECT 1 FROM \`${path}\``), "MERGE target");
  const from = (ast["from"] as unknown[])[0] as Node;
  const table = tableNameOf(from);
  return { table, alias: m[2] ?? table.tableId };
}

function parseMergeSource(text: string): { source: SelectIR; alias: string } {
  const m = new RegExp(`^\\s*\\(([\\s\\S]*)\\)(?:\\s+(?:AS\\s+)?(${IDENT}))?\\s*$`, "i").exec(text);
  if (!m) throw unsupported("MERGE USING other than a parenthesised SELECT");
  const source = toSelect(single(astify(m[1] as string), "MERGE source"));
  return { source, alias: m[2] ?? "__source" };
}

function parseWhenClause(text: string): MergeClause {
  const m = /^\s*(NOT\s+MATCHED(?:\s+BY\s+TARGET)?|MATCHED)(?:\s+AND\s+([\s\S]*?))?\s+THEN\s+([\s\S]*)$/i.exec(text);
  if (!m) throw new SqlError(`Syntax error: WHEN clause "${text.trim()}"`);
  const matched = !/^NOT/i.test(m[1] as string);
  const cond = m[2] !== undefined ? parseWhere(m[2], "WHEN condition") : null;
  const action = (m[3] as string).trim();
  if (/^NOT\s+MATCHED\s+BY\s+SOURCE/i.test(m[1] as string)) throw unsupported("WHEN NOT MATCHED BY SOURCE");
  if (matched) {
    const set = /^UPDATE\s+SET\s+([\s\S]+)$/i.exec(action);
    if (!set) throw unsupported(`WHEN MATCHED action "${action.split(/\s+/)[0] ?? ""}" (only UPDATE SET)`);
    const ast = single(astify(`UPDATE __merge SET ${set[1] as string}`), "UPDATE SET");
    const assignments = ast["set"];
    if (!Array.isArray(assignments)) throw new SqlError("Syntax error: UPDATE SET");
    return {
      matched: true,
      cond,
      set: assignments.map((a) => {
        if (!isNode(a) || typeof a["column"] !== "string") throw unsupported("UPDATE SET target");
        return { column: a["column"], expr: toExpr(a["value"]) };
      }),
    };
  }
  const insert = /^INSERT\s*(\([\s\S]*)$/i.exec(action);
  if (!insert) throw unsupported(`WHEN NOT MATCHED action (only INSERT (cols) VALUES (...))`);
  const ast = single(astify(`INSERT INTO __merge ${insert[1] as string}`), "INSERT");
  const columns = ast["columns"];
  const values = isNode(ast["values"]) ? ast["values"]["values"] : undefined;
  if (!Array.isArray(columns) || !Array.isArray(values) || values.length !== 1) {
    throw unsupported("MERGE INSERT other than one (columns) VALUES (...) row");
  }
  const exprs = exprList(values[0]).map(toExpr);
  if (exprs.length !== columns.length) throw new SqlError("Inserted row has wrong column count");
  return { matched: false, cond, columns: columns.map(String), values: exprs };
}

export function parseMerge(sql: string): MergeIR {
  const words = topLevelWords(sql);
  const first = words[0];
  if (!first || first.word !== "MERGE") throw new SqlError("Syntax error: expected MERGE");
  const using = words.find((w) => w.word === "USING");
  const on = using && words.find((w) => w.word === "ON" && w.start > using.start);
  const whens = on ? words.filter((w) => w.word === "WHEN" && w.start > on.start) : [];
  if (!using || !on || whens.length === 0) throw new SqlError("Syntax error: MERGE needs USING ... ON ... WHEN ...");
  const target = parseMergeTarget(sql.slice(first.end, using.start));
  const { source, alias: sourceAlias } = parseMergeSource(sql.slice(using.end, on.start));
  const onExpr = parseWhere(sql.slice(on.end, (whens[0] as Token).start), "MERGE ON condition");
  const clauses = whens.map((w, i) => parseWhenClause(sql.slice(w.end, whens[i + 1]?.start ?? sql.length).replace(/;\s*$/, "")));
  return { kind: "merge", target: target.table, targetAlias: target.alias, source, sourceAlias, on: onExpr, clauses };
}

/** Parses one statement of the supported subset, or throws SqlError (-> HTTP 400 invalidQuery). */
export function parseStatement(sql: string): StatementIR {
  const trimmed = sql.trim();
  if (/^MERGE\b/i.test(trimmed)) return parseMerge(trimmed);
  const ast = single(astify(trimmed), "query");
  if (ast["type"] === "select") return toSelect(ast);
  throw unsupported(`${String(ast["type"]).toUpperCase()} statements (supported: SELECT from one table, MERGE upsert)`);
}

// The repository's import direction (README "Import direction"), as data a test can check: each
// source file's imports are read with the TypeScript parser (static `import ... from`, `export ...
// from`, `import x = require()`, `require()`, dynamic `import()` and `import("...")` types),
// relative specifiers are resolved to repository paths, and every rule that applies to the importing
// file judges each of them. Pure: the caller supplies the files' text.
import path from "node:path";
import ts from "typescript";

export interface SourceFile {
  /** Repository-relative, forward slashes. */
  path: string;
  text: string;
}

export interface ImportRef {
  /** The specifier as written. */
  specifier: string;
  /** Repository-relative path for a relative specifier; undefined for a package or builtin. */
  resolved?: string;
  line: number;
}

export interface Violation {
  rule: string;
  file: string;
  line: number;
  specifier: string;
}

/** Every module specifier the file names, in source order. */
export function readImports(file: SourceFile): ImportRef[] {
  const kind = file.path.endsWith(".cjs") || file.path.endsWith(".js") || file.path.endsWith(".mjs") ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, kind);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined) => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const specifier = literal.text;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    refs.push({ specifier, line, resolved: resolveRelative(file.path, specifier) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if (isDynamicImport || isRequire) add(node, node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return undefined;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
}

const under = (p: string | undefined, dir: string): boolean => p !== undefined && (p === dir || p.startsWith(`${dir}/`));

/** A package specifier's name: "@scope/name" or "name" (builtins keep their node: prefix off). */
function packageName(specifier: string): string {
  const bare = specifier.replace(/^node:/, "");
  const parts = bare.split("/");
  return bare.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

const CLOUD_CLIENTS = /^(@google-cloud\/|googleapis$|google-auth-library$|google-gax$|@grpc\/)/;
const IO_BUILTINS = new Set(["fs", "fs/promises", "net", "http", "https", "http2", "child_process", "dgram", "tls", "dns", "worker_threads", "cluster"]);

export interface ImportRule {
  name: string;
  /** Whether the rule judges imports of this file. */
  appliesTo(file: string): boolean;
  /** Whether this import breaks the rule. */
  forbids(ref: ImportRef): boolean;
}

export const IMPORT_RULES: readonly ImportRule[] = [
  {
    name: "functions/core is pure: no cloud client, no Pulumi, no file/network/process I/O, nothing outside functions/core",
    appliesTo: (f) => under(f, "functions/core"),
    forbids: (ref) =>
      ref.resolved !== undefined
        ? !under(ref.resolved, "functions/core")
        : CLOUD_CLIENTS.test(packageName(ref.specifier)) ||
          packageName(ref.specifier) === "@pulumi/pulumi" ||
          ref.specifier.startsWith("@pulumi/") ||
          IO_BUILTINS.has(ref.specifier.replace(/^node:/, "")),
  },
  {
    name: "functions/ never imports @pulumi/* or infra/",
    appliesTo: (f) => under(f, "functions"),
    forbids: (ref) => ref.specifier.startsWith("@pulumi/") || under(ref.resolved, "infra"),
  },
  {
    name: "infra/ imports functions/core, never functions/lib or other runtime code",
    appliesTo: (f) => under(f, "infra"),
    forbids: (ref) => under(ref.resolved, "functions") && !under(ref.resolved, "functions/core"),
  },
  {
    name: "policies/ imports @pulumi/policy and at most functions/core",
    // The CommonJS entry the Pulumi CLI require()s loads the ESM pack through tsx's loader: a
    // loader, not a dependency of any policy.
    appliesTo: (f) => under(f, "policies") && f !== "policies/pulumi-entry.cjs",
    forbids: (ref) =>
      ref.resolved !== undefined
        ? !under(ref.resolved, "policies") && !under(ref.resolved, "functions/core")
        : packageName(ref.specifier) !== "@pulumi/policy",
  },
  {
    name: "nothing outside test/ imports test/",
    appliesTo: (f) => !under(f, "test"),
    forbids: (ref) => under(ref.resolved, "test"),
  },
  {
    name: "only tests, tools and bench import bench/ or tools/",
    appliesTo: (f) => !under(f, "test") && !under(f, "tools") && !under(f, "bench"),
    forbids: (ref) => under(ref.resolved, "bench") || under(ref.resolved, "tools"),
  },
];

/** Every (rule, import) pair the files break. */
export function checkImports(files: readonly SourceFile[], rules: readonly ImportRule[] = IMPORT_RULES): Violation[] {
  const violations: Violation[] = [];
  for (const file of files) {
    const applicable = rules.filter((r) => r.appliesTo(file.path));
    if (applicable.length === 0) continue;
    for (const ref of readImports(file)) {
      for (const rule of applicable) {
        if (rule.forbids(ref)) violations.push({ rule: rule.name, file: file.path, line: ref.line, specifier: ref.specifier });
      }
    }
  }
  return violations;
}

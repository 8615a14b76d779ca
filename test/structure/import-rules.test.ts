// The import direction the README states, checked on the repository's own files, and shown by
// fixtures to fail on a violation of each rule and for each way a module can be imported.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { checkImports, IMPORT_RULES, readImports, type SourceFile } from "./import-rules.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const SKIP = new Set(["node_modules", "dist", ".git"]);

function repositoryFiles(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIP.has(entry.name) && !entry.name.startsWith(".")) walk(rel);
      } else if (SOURCE.test(entry.name)) {
        files.push({ path: rel, text: readFileSync(path.join(ROOT, rel), "utf8") });
      }
    }
  };
  walk("");
  return files;
}

const ruleNamed = (start: string): string => {
  const rule = IMPORT_RULES.find((r) => r.name.startsWith(start));
  assert.ok(rule, `no rule starting "${start}"`);
  return rule.name;
};

describe("import rules", () => {
  it("the repository follows every rule", function () {
    const files = repositoryFiles();
    assert.ok(files.some((f) => f.path.startsWith("functions/core/")), "walked no functions/core file");
    assert.ok(files.some((f) => f.path.startsWith("tools/")), "walked no tools file");
    const violations = checkImports(files);
    assert.deepEqual(violations.map((v) => `${v.file}:${v.line} ${v.specifier} (${v.rule})`), []);
  });

  it("reads every import form, with relative paths resolved", () => {
    const refs = readImports({
      path: "infra/x/a.ts",
      text: [
        `import { a } from "../../functions/lib/a.ts";`,
        `import type { B } from "./b.ts";`,
        `import "side-effect";`,
        `export { c } from "../c.ts";`,
        `export * from "@pulumi/gcp";`,
        `const d = await import("node:fs");`,
        `type E = import("../../test/e.ts").E;`,
        `import f = require("f-pkg");`,
        `const s = "import x from 'not-an-import'"; // a string, not an import`,
      ].join("\n"),
    });
    assert.deepEqual(
      refs.map((r) => [r.specifier, r.resolved, r.line]),
      [
        ["../../functions/lib/a.ts", "functions/lib/a.ts", 1],
        ["./b.ts", "infra/x/b.ts", 2],
        ["side-effect", undefined, 3],
        ["../c.ts", "infra/c.ts", 4],
        ["@pulumi/gcp", undefined, 5],
        ["node:fs", undefined, 6],
        ["../../test/e.ts", "test/e.ts", 7],
        ["f-pkg", undefined, 8],
      ],
    );
    const cjs = readImports({ path: "x/y.cjs", text: `const { z } = require("../z.cjs");` });
    assert.deepEqual(cjs.map((r) => r.resolved), ["z.cjs"]);
  });

  // One violating and one allowed import per rule; each violation must be reported by its rule.
  const cases: { rule: string; file: string; bad: string[]; ok: string[] }[] = [
    {
      rule: "functions/core is pure",
      file: "functions/core/rule.ts",
      bad: [`import { Firestore } from "@google-cloud/firestore";`, `import * as pulumi from "@pulumi/pulumi";`, `import fs from "node:fs";`, `import { request } from "http";`, `const cp = await import("node:child_process");`, `import { x } from "../lib/x.ts";`, `export { y } from "node:net";`],
      ok: [`import { z } from "zod";`, `import { createHash } from "node:crypto";`, `import { p } from "./pipeline.ts";`],
    },
    {
      rule: "functions/ never imports",
      file: "functions/lib/store.ts",
      bad: [`import * as gcp from "@pulumi/gcp";`, `import { naming } from "../../infra/naming.ts";`, `type T = import("../../infra/component.ts").Component;`],
      ok: [`import { Firestore } from "@google-cloud/firestore";`, `import { p } from "../core/pipeline.ts";`],
    },
    {
      rule: "infra/ imports functions/core",
      file: "infra/components/x.ts",
      bad: [`import { store } from "../../functions/lib/store.ts";`, `export { run } from "../../functions/scheduled/runtime.ts";`],
      ok: [`import * as gcp from "@pulumi/gcp";`, `import { p } from "../../functions/core/pipeline.ts";`],
    },
    {
      rule: "policies/ imports",
      file: "policies/rules/r.ts",
      bad: [`import * as gcp from "@pulumi/gcp";`, `import { s } from "../../functions/lib/store.ts";`, `import { n } from "../../infra/naming.ts";`],
      ok: [`import { PolicyPack } from "@pulumi/policy";`, `import { t } from "../../functions/core/tables.ts";`, `import { l } from "../lib/types.ts";`],
    },
    {
      rule: "nothing outside test/ imports test/",
      file: "tools/local-stack/stack.ts",
      bad: [`import { h } from "../../test/harness/emulators.ts";`, `const s = await import("../../test/runtime/support.ts");`],
      ok: [`import { e } from "../emulators/emulators.ts";`],
    },
    {
      rule: "only tests, tools and bench import bench/ or tools/",
      file: "infra/bundle/build.ts",
      bad: [`import { b } from "../../tools/build.ts";`, `export * from "../../bench/stats.ts";`],
      ok: [`import { c } from "../component.ts";`],
    },
  ];

  for (const c of cases) {
    it(`fails on a violation: ${c.rule}`, () => {
      const name = ruleNamed(c.rule);
      for (const line of c.bad) {
        const found = checkImports([{ path: c.file, text: line }]).filter((v) => v.rule === name);
        assert.equal(found.length, 1, `${c.file}: ${line} should break "${name}"`);
      }
      for (const line of c.ok) {
        assert.deepEqual(checkImports([{ path: c.file, text: line }]), [], `${c.file}: ${line} should be allowed`);
      }
    });
  }

  it("tests, tools and bench may import each other; tests may import anything", () => {
    const allowed: SourceFile[] = [
      { path: "test/x.test.ts", text: `import "../tools/emulators/emulators.ts"; import "../bench/stats.ts"; import "../functions/lib/a.ts"; import "@pulumi/pulumi";` },
      { path: "bench/run.ts", text: `import "../tools/emulators/emulators.ts";` },
      { path: "tools/local-stack/cli.ts", text: `import "../../bench/stats.ts"; import "../../functions/lib/a.ts";` },
    ];
    assert.deepEqual(checkImports(allowed), []);
  });
});

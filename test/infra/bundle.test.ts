// Code identity: archives are byte-for-byte reproducible, and a source change moves exactly the
// hashes of the functions whose bundles include the changed file.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { buildArchives } from "../../infra/bundle/build-all.ts";
import { deterministicZip } from "../../infra/bundle/deterministic-zip.ts";
import { buildFunctionArchiveFresh, sha256Hex } from "../../infra/bundle/function-archive.ts";
import { functionRegistry, orchestratorEntry } from "../../infra/function-registry.ts";
import { ROOT, tempProjectCopy } from "./helpers.ts";

const run = promisify(execFile);
const specs = functionRegistry(loadPipeline());
const hashes = async (rootDir: string): Promise<Map<string, string>> =>
  new Map((await buildArchives(rootDir, specs)).map((a) => [a.name, a.sha256]));
const changed = (a: Map<string, string>, b: Map<string, string>): string[] =>
  [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();

describe("function archives", function () {
  this.timeout(240_000);

  it("the zip depends only on names and contents, not on the order entries are added", async () => {
    const a = await deterministicZip([{ name: "b.txt", data: Buffer.from("b") }, { name: "a.txt", data: Buffer.from("a") }]);
    const b = await deterministicZip([{ name: "a.txt", data: Buffer.from("a") }, { name: "b.txt", data: Buffer.from("b") }]);
    assert.equal(sha256Hex(a), sha256Hex(b));
    const c = await deterministicZip([{ name: "a.txt", data: Buffer.from("A") }, { name: "b.txt", data: Buffer.from("b") }]);
    assert.notEqual(sha256Hex(a), sha256Hex(c));
  });

  it("building twice from scratch gives the same bytes, in this process and in another time zone", async () => {
    const spec = specs[0]!;
    const req = { rootDir: ROOT, name: spec.name, entry: spec.entry };
    const first = await buildFunctionArchiveFresh(req);
    const second = await buildFunctionArchiveFresh(req);
    assert.ok(first.zip.equals(second.zip));
    const { stdout } = await run(process.execPath, ["--import", "tsx", path.join(ROOT, "test/infra/fixtures/archive-sha.ts"), ROOT, spec.name, spec.entry], {
      env: { ...process.env, TZ: process.env.TZ === "Pacific/Kiritimati" ? "America/Los_Angeles" : "Pacific/Kiritimati" },
      cwd: ROOT,
    });
    assert.equal(stdout.trim(), first.sha256);
  });

  it("the archive holds the bundle, and a package.json + lock pinning only the functions framework at the root lockfile's version", async () => {
    const spec = specs[0]!;
    const archive = await buildFunctionArchiveFresh({ rootDir: ROOT, name: spec.name, entry: spec.entry });
    const text = archive.zip.toString("latin1");
    for (const name of ["index.js", "package.json", "package-lock.json"]) assert.ok(text.includes(name), name);
    assert.ok(!archive.inputs.some((i) => i.includes("@pulumi/")), "no Pulumi in a function bundle");
    assert.ok(archive.inputs.includes(spec.entry));
    assert.ok(!archive.inputs.some((i) => i.startsWith("infra/")), "no infra code in a function bundle");
  });

  it("editing one orchestrator changes that function's hash only; editing shared code changes exactly the functions that include it", async () => {
    const copy = await tempProjectCopy();
    try {
      // Shared code used by a strict subset: a module imported by two of the entry points.
      const orchestrators = specs.filter((s) => s.kind === "orchestrator");
      const subset = orchestrators.slice(0, 2);
      await writeFile(path.join(copy.dir, "functions/lib/infra-test-shared.ts"), "export const sharedMarker: string[] = [];\n");
      for (const s of subset) {
        await appendFile(path.join(copy.dir, s.entry), '\nimport { sharedMarker } from "../lib/infra-test-shared.ts";\nsharedMarker.push("x");\n');
      }
      const base = await hashes(copy.dir);
      assert.equal(new Set(base.values()).size, specs.length, "every function has its own hash");

      const target = orchestrators[orchestrators.length - 1]!;
      assert.equal(target.entry, orchestratorEntry(target.transitionId!));
      await appendFile(path.join(copy.dir, target.entry), '\n(globalThis as Record<string, unknown>).infraTestEdit = 1;\n');
      const afterEntryEdit = await hashes(copy.dir);
      assert.deepEqual(changed(base, afterEntryEdit), [target.name]);

      await appendFile(path.join(copy.dir, "functions/lib/infra-test-shared.ts"), 'sharedMarker.push("edited");\n');
      const afterSharedEdit = await hashes(copy.dir);
      assert.deepEqual(changed(afterEntryEdit, afterSharedEdit), subset.map((s) => s.name).sort());

      // Shared runtime code: exactly the functions whose bundles include it move (by the bundler's
      // own input list), and for a module in every orchestrator that is at least all of them.
      const archives = await buildArchives(copy.dir, specs);
      const inAll = archives[0]!.inputs.filter((i) => i.startsWith("functions/lib/") && archives.filter((a) => orchestrators.some((o) => o.name === a.name)).every((a) => a.inputs.includes(i)));
      assert.ok(inAll.length > 0, "some runtime module is shared by every orchestrator");
      const shared = inAll[0]!;
      const including = archives.filter((a) => a.inputs.includes(shared)).map((a) => a.name).sort();
      const sharedFile = path.join(copy.dir, shared);
      await writeFile(sharedFile, (await readFile(sharedFile, "utf8")) + '\nexport const infraTestAddedExport = "x";\n(globalThis as Record<string, unknown>).infraTestShared = infraTestAddedExport;\n');
      const afterRuntimeEdit = await hashes(copy.dir);
      assert.deepEqual(changed(afterSharedEdit, afterRuntimeEdit), including);
      for (const o of orchestrators) assert.ok(including.includes(o.name));
    } finally {
      await copy.remove();
    }
  });
});

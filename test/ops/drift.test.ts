// The drift report: pure parsing/diffing on preview documents in Pulumi's format
// (test/fixtures/previews, built by build-fixtures.ts), and the CLI run as a child process for
// exit codes, the JSON document, colour only on a terminal, and commits behind from git.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { parsePropertyPath } from "../../tools/drift/property-path.ts";
import { readPreview } from "../../tools/drift/parse-preview.ts";
import { buildDriftReport } from "../../tools/drift/report.ts";
import type { DriftReport } from "../../tools/drift/report.ts";
import { isCodeProperty, sameCode } from "../../tools/drift/code-hash.ts";
import type { PreviewDigest, PreviewStep } from "../../tools/drift/preview-types.ts";
import * as fx from "../fixtures/previews/build-fixtures.ts";

const REPO = path.resolve(import.meta.dirname, "../..");
const FIXTURES = fx.FIXTURE_DIR;
const fixture = (name: string) => path.join(FIXTURES, name);
const reportOf = (digest: PreviewDigest): DriftReport => buildDriftReport(digest, { knownFunctionNames: fx.FUNCTION_NAMES });
const statusOf = (report: DriftReport) => Object.fromEntries(report.functions.map((f) => [f.name, f.status]));

describe("drift: fixtures", () => {
  it("are exactly what build-fixtures.ts produces (regenerate after changing it)", () => {
    for (const [file, build] of Object.entries(fx.FIXTURES)) {
      assert.equal(readFileSync(fixture(file), "utf8"), fx.serialise(build()), file);
    }
  });
});

describe("drift: readPreview", () => {
  const read = (file: string) => readPreview(readFileSync(fixture(file), "utf8"));

  it("accepts a preview document", () => {
    const verdict = read("in-sync.json");
    assert.equal(verdict.ok, true);
  });

  it("rejects text that is not JSON, saying so", () => {
    for (const file of ["garbage.txt", "truncated.json"]) {
      const verdict = read(file);
      assert.equal(verdict.ok, false, file);
      if (!verdict.ok) {
        assert.equal(verdict.kind, "not-json", file);
        assert.match(verdict.reason, /not JSON/);
      }
    }
    const empty = readPreview("  \n");
    assert.ok(!empty.ok && empty.kind === "not-json" && /empty/.test(empty.reason));
  });

  it("rejects JSON that is not a preview, naming what it is", () => {
    const cases: [string, RegExp][] = [
      [readFileSync(fixture("stack-export.json"), "utf8"), /stack export/],
      [readFileSync(fixture("error-document.json"), "utf8"), /error document: no stack named 'dev' found/],
      ["[]", /array/],
      ["42", /number/],
      ["{}", /none of the keys/],
      ['{"steps": [{"op": "same"}]}', /steps\[0\]\.urn/],
      ['{"steps": []}', /no steps/],
    ];
    for (const [text, reason] of cases) {
      const verdict = readPreview(text);
      assert.ok(!verdict.ok, text);
      assert.equal(verdict.kind, "not-a-preview", text);
      assert.match(verdict.reason, reason, text);
    }
  });

  it("recognises a stream of engine events (PULUMI_ENABLE_STREAMING_JSON_PREVIEW)", () => {
    const stream = ['{"sequence":0,"timestamp":1,"preludeEvent":{}}', '{"sequence":1,"timestamp":2,"summaryEvent":{}}'].join("\n");
    const verdict = readPreview(stream);
    assert.ok(!verdict.ok && verdict.kind === "not-a-preview" && /stream of engine events/.test(verdict.reason));
  });

  it("rejects a preview whose program failed, quoting the engine's errors on one line", () => {
    const verdict = read("engine-error.json");
    assert.ok(!verdict.ok);
    assert.equal(verdict.kind, "preview-failed");
    assert.match(verdict.reason, /Cannot find module '\.\/infra\/functions\.ts'/);
    assert.doesNotMatch(verdict.reason, /\n/);
  });

  it("does not treat warnings as failure", () => {
    const digest = fx.inSync();
    digest.diagnostics = [{ message: "warning: deprecated property", severity: "warning" }];
    assert.equal(readPreview(JSON.stringify(digest)).ok, true);
  });
});

describe("drift: buildDriftReport", () => {
  it("in sync: every function in-sync, nothing else changes", () => {
    const report = reportOf(fx.inSync());
    assert.equal(report.inSync, true);
    assert.equal(report.stack, fx.STACK);
    assert.deepEqual(report.functions.map((f) => f.name), [...fx.FUNCTION_NAMES]);
    for (const fn of report.functions) {
      assert.equal(fn.status, "in-sync");
      assert.equal(fn.deployedHash, fx.codeHash(fn.name));
      assert.equal(fn.currentHash, fx.codeHash(fn.name));
    }
    assert.deepEqual(report.resources, []);
  });

  it("in sync without --show-sames: a lone refresh step proves the function unchanged", () => {
    const report = reportOf(fx.inSyncWithoutSames());
    assert.equal(report.inSync, true);
    assert.equal(report.functions.length, fx.FUNCTION_NAMES.length);
    assert.ok(report.functions.every((f) => f.status === "in-sync" && f.currentHash === fx.codeHash(f.name)));
  });

  it("one function's code changed: only that function drifts; its archive and code properties are not noise", () => {
    const report = reportOf(fx.codeChanged());
    assert.equal(report.inSync, false);
    for (const fn of report.functions) {
      assert.equal(fn.status, fn.name === fx.CHANGED_FUNCTION ? "code-drift" : "in-sync", fn.name);
    }
    const changed = report.functions.find((f) => f.name === fx.CHANGED_FUNCTION);
    assert.equal(changed?.deployedHash, fx.codeHash(fx.CHANGED_FUNCTION, 1));
    assert.equal(changed?.currentHash, fx.codeHash(fx.CHANGED_FUNCTION, 2));
    assert.deepEqual(report.resources, []);
  });

  it("changed code of any subset of functions drifts exactly that subset (property)", () => {
    fc.assert(
      fc.property(fc.subarray([...fx.FUNCTION_NAMES]), (changedSet) => {
        const digest = fx.refreshPreview((s) => {
          const fn = changedSet.find((name) => s.urn === fx.functionUrn(name));
          if (!fn) return undefined;
          return [fx.step("update", { oldState: s, newState: fx.functionState({ fn, hash: fx.codeHash(fn, 2) }), diffReasons: ["serviceConfig"] })];
        });
        const report = reportOf(digest);
        const drifted = report.functions.filter((f) => f.status === "code-drift").map((f) => f.name);
        assert.deepEqual(drifted.sort(), [...changedSet].sort());
        assert.equal(report.inSync, changedSet.length === 0);
      }),
    );
  });

  it("a label changed out of band: functions keep their code, the function shows as a changed resource", () => {
    const report = reportOf(fx.labelChangedOutOfBand());
    assert.equal(report.inSync, false);
    assert.ok(report.functions.every((f) => f.status === "in-sync"));
    assert.equal(report.resources.length, 1);
    const [resource] = report.resources;
    assert.equal(resource?.urn, fx.functionUrn(fx.RELABELLED_FUNCTION));
    assert.equal(resource?.type, "gcp:cloudfunctionsv2/function:Function");
    assert.equal(resource?.op, "update");
    assert.equal(resource?.refresh, "update");
    assert.ok(resource?.properties.includes("labels.team"));
  });

  it("a resource deleted out of band: the refresh finds it gone and the preview would create it", () => {
    const report = reportOf(fx.deletedOutOfBand());
    assert.equal(report.inSync, false);
    assert.deepEqual(report.resources, [
      {
        urn: fx.urn("gcp:pubsub/subscription:Subscription", fx.DELETED_SUBSCRIPTION),
        type: "gcp:pubsub/subscription:Subscription",
        op: "create",
        properties: [],
        refresh: "delete",
      },
    ]);
  });

  it("an out-of-band change the program accepts is listed as refresh-found, op same", () => {
    const topic = fx.topicState("nba-phase2-raw-complete");
    const inCloud = fx.topicState("nba-phase2-raw-complete", { owner: "console" });
    const digest = fx.refreshPreview((s) =>
      s.urn === topic.urn
        ? [
            fx.refreshFound(fx.step("update", { oldState: s, newState: inCloud, detailedDiff: { "labels.owner": { kind: "add", inputDiff: false } } })),
            fx.same(inCloud),
          ]
        : undefined,
    );
    const report = reportOf(digest);
    assert.equal(report.inSync, false);
    assert.deepEqual(report.resources.map((r) => [r.op, r.refresh, r.properties]), [["same", "update", ["labels.owner"]]]);
  });

  it("a function deleted out of band reads as new, and is listed with what the refresh found", () => {
    const fn = fx.FUNCTION_NAMES[0];
    const digest = fx.refreshPreview((s) =>
      s.urn === fx.functionUrn(fn)
        ? [fx.refreshFound(fx.step("delete", { oldState: s })), fx.step("create", { newState: s })]
        : undefined,
    );
    const report = reportOf(digest);
    const row = report.functions.find((f) => f.name === fn);
    assert.deepEqual([row?.status, row?.deployedHash, row?.currentHash], ["new", null, fx.codeHash(fn)]);
    assert.deepEqual(report.resources.map((r) => [r.urn, r.op, r.refresh]), [[fx.functionUrn(fn), "create", "delete"]]);
  });

  it("a new function: status new, named without the stack prefix; its archive is not listed, other creates are", () => {
    const report = reportOf(fx.newFunction());
    const fn = report.functions.find((f) => f.status === "new");
    assert.equal(fn?.name, fx.NEW_FUNCTION);
    assert.equal(fn?.deployedHash, null);
    assert.equal(fn?.currentHash, fx.codeHash(fx.NEW_FUNCTION));
    assert.deepEqual(report.resources.map((r) => [r.type, r.op]), [["gcp:pubsub/topic:Topic", "create"]]);
  });

  it("a removed function: status removed, no current hash; its archive is not listed", () => {
    const report = reportOf(fx.removedFunction());
    assert.deepEqual(statusOf(report), {
      "phase2-to-phase3-orchestrator": "in-sync",
      "phase3-to-phase4-orchestrator": "in-sync",
      "phase4-to-phase5-orchestrator": "in-sync",
      "phase5-to-phase6-orchestrator": "removed",
    });
    const removed = report.functions.find((f) => f.status === "removed");
    assert.equal(removed?.deployedHash, fx.codeHash(fx.REMOVED_FUNCTION));
    assert.equal(removed?.currentHash, null);
    assert.deepEqual(report.resources, []);
  });

  it("code drift plus another change on the same function lists only the other property", () => {
    const fn = fx.CHANGED_FUNCTION;
    const digest = fx.refreshPreview((s) =>
      s.urn === fx.functionUrn(fn)
        ? [
            fx.step("update", {
              oldState: s,
              newState: fx.functionState({ fn, hash: fx.codeHash(fn, 2) }),
              detailedDiff: {
                "serviceConfig.environmentVariables.CODE_HASH": { kind: "update", inputDiff: false },
                'labels["code-hash"]': { kind: "update", inputDiff: false },
                "serviceConfig.availableMemory": { kind: "update", inputDiff: false },
              },
            }),
          ]
        : undefined,
    );
    const report = reportOf(digest);
    assert.deepEqual(report.resources.map((r) => r.properties), [["serviceConfig.availableMemory"]]);
  });

  it("an archive replaced while its function keeps its code is listed (nothing explains it)", () => {
    const fn = fx.FUNCTION_NAMES[1];
    const digest = fx.refreshPreview((s) =>
      s.urn === fx.archiveUrn(fn) ? [fx.step("replace", { oldState: s, newState: s, replaceReasons: ["source"] })] : undefined,
    );
    const report = reportOf(digest);
    assert.ok(report.functions.every((f) => f.status === "in-sync"));
    assert.deepEqual(report.resources.map((r) => [r.urn, r.op, r.properties]), [[fx.archiveUrn(fn), "replace", ["source"]]]);
  });

  it("collapses a create-replacement/replace/delete-replaced sequence into one replace", () => {
    const topic = fx.topicState("nba-phase2-raw-complete");
    const steps: PreviewStep[] = ["create-replacement", "replace", "delete-replaced"].map((op) =>
      fx.step(op, { oldState: topic, newState: topic, replaceReasons: ["name"] }),
    );
    const report = reportOf(fx.digest(steps));
    assert.deepEqual(report.resources.map((r) => [r.op, r.properties]), [["replace", ["name"]]]);
  });

  it("reads the code hash from the label prefix when the state has nothing better", () => {
    const fn = fx.FUNCTION_NAMES[2];
    const labelOnly = (hash: string) => {
      const s = fx.functionState({ fn, hash });
      const strip = (props: Record<string, unknown> | undefined) => {
        const copy = structuredClone(props ?? {}) as { serviceConfig?: { environmentVariables?: object }; buildConfig?: object };
        copy.serviceConfig = { environmentVariables: {} };
        delete copy.buildConfig;
        return copy;
      };
      return { ...s, inputs: strip(s.inputs), outputs: strip(s.outputs) };
    };
    const deployed = labelOnly(fx.codeHash(fn));
    const sameDigest = fx.digest([fx.same(deployed)]);
    const [same] = reportOf(sameDigest).functions;
    assert.equal(same?.status, "in-sync");
    assert.equal(same?.deployedHash, fx.codeHash(fn).slice(0, 63));

    const changed = fx.digest([fx.step("update", { oldState: deployed, newState: fx.functionState({ fn, hash: fx.codeHash(fn, 2) }) })]);
    assert.equal(reportOf(changed).functions[0]?.status, "code-drift");
  });

  it("ignores secret and unknown values rather than taking them for hashes", () => {
    const fn = fx.FUNCTION_NAMES[0];
    const s = fx.functionState({ fn, hash: fx.codeHash(fn) });
    const masked = structuredClone(s);
    for (const props of [masked.inputs, masked.outputs] as Record<string, unknown>[]) {
      (props["serviceConfig"] as { environmentVariables: Record<string, string> }).environmentVariables["CODE_HASH"] = "[secret]";
      (props["labels"] as Record<string, string>)["code-hash"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    }
    const [row] = reportOf(fx.digest([fx.same(masked)])).functions;
    // Falls through to the source object's name, which still holds the full hash.
    assert.equal(row?.deployedHash, fx.codeHash(fn));
  });
});

describe("drift: property paths and hashes", () => {
  it("parses Pulumi property paths with quoted keys and indices", () => {
    assert.deepEqual(parsePropertyPath('labels["code-hash"]'), ["labels", "code-hash"]);
    assert.deepEqual(parsePropertyPath("serviceConfig.environmentVariables.CODE_HASH"), ["serviceConfig", "environmentVariables", "CODE_HASH"]);
    assert.deepEqual(parsePropertyPath('a[0]["b.c"].d'), ["a", 0, "b.c", "d"]);
    assert.deepEqual(parsePropertyPath('a["unterminated'), ["a", '["unterminated']);
  });

  it("knows which function properties are code", () => {
    assert.ok(isCodeProperty('labels["code-hash"]'));
    assert.ok(isCodeProperty('effectiveLabels["code-hash"]'));
    assert.ok(isCodeProperty("buildConfig.source.storageSource.object"));
    assert.ok(isCodeProperty("serviceConfig.environmentVariables.CODE_HASH"));
    assert.ok(!isCodeProperty("labels.team"));
    assert.ok(!isCodeProperty("serviceConfig.environmentVariables.CODE_HASH_OTHER"));
    assert.ok(!isCodeProperty("serviceConfig.availableMemory"));
  });

  it("sameCode: a prefix matches its full hash, different hashes never match (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{64}$/), fc.integer({ min: 1, max: 63 }), (a, b, n) => {
        assert.ok(sameCode(a, a.slice(0, n)));
        assert.ok(sameCode(a.slice(0, n), a));
        assert.equal(sameCode(a, b), a === b);
      }),
    );
  });
});

// --- the CLI as a child process ---

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDrift(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "tools/drift.ts"), ...args], {
      cwd: options.cwd ?? REPO,
      env: options.env ?? { ...process.env, NO_COLOR: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const ESC = "\u001b";

describe("drift: CLI", function () {
  // A hang guard: the tool runs in a child process, slow to start on a busy machine.
  this.timeout(180_000);

  it("exits 0 when in sync and 1 for each kind of drift", async () => {
    const expected: [string, number][] = [
      ["in-sync.json", 0],
      ["in-sync-without-sames.json", 0],
      ["code-changed.json", 1],
      ["label-changed-out-of-band.json", 1],
      ["deleted-out-of-band.json", 1],
      ["new-function.json", 1],
      ["removed-function.json", 1],
    ];
    const results = await Promise.all(expected.map(([file]) => runDrift(["--preview", fixture(file)])));
    results.forEach((result, i) => assert.equal(result.code, expected[i]?.[1], `${expected[i]?.[0]}: ${result.stderr}`));
  });

  it("exits 2 and says why when the input is no preview", async () => {
    const cases: [string, RegExp][] = [
      [path.join(FIXTURES, "does-not-exist.json"), /missing-file: the file does not exist/],
      [fixture("garbage.txt"), /not-json: it is not JSON/],
      [fixture("truncated.json"), /not-json/],
      [fixture("stack-export.json"), /not-a-preview: .*stack export/],
      [fixture("error-document.json"), /not-a-preview: it is an error document/],
      [fixture("engine-error.json"), /preview-failed: .*Cannot find module/],
      [FIXTURES, /missing-file: the file cannot be read \(EISDIR\)/],
    ];
    const results = await Promise.all(cases.map(([file]) => runDrift(["--preview", file])));
    results.forEach((result, i) => {
      assert.equal(result.code, 2, String(cases[i]?.[0]));
      assert.match(result.stderr, cases[i]?.[1] as RegExp);
      assert.equal(result.stdout, "", "nothing on stdout without --json");
    });
  });

  it("with --json an unreadable input still prints one JSON document naming the problem", async () => {
    const result = await runDrift(["--preview", fixture("garbage.txt"), "--json"]);
    assert.equal(result.code, 2);
    const doc = JSON.parse(result.stdout) as { error: { kind: string; reason: string } };
    assert.equal(doc.error.kind, "not-json");
  });

  it("exits 2 on a bad command line, 0 with --help", async () => {
    const [missing, unknown, help] = await Promise.all([runDrift([]), runDrift(["--preview", "x", "--colour"]), runDrift(["--help"])]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--preview <file> is required/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--colour/);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit status: 0 in sync, 1 drift found, 2 no report/);
  });

  it("--json prints exactly one document with the documented shape", async () => {
    const result = await runDrift(["--preview", fixture("code-changed.json"), "--json"]);
    assert.equal(result.code, 1);
    const doc = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc).sort(), ["functions", "inSync", "resources", "stack"]);
    assert.equal(doc["inSync"], false);
    const functions = doc["functions"] as Record<string, unknown>[];
    assert.equal(functions.length, fx.FUNCTION_NAMES.length);
    for (const fn of functions) {
      for (const key of Object.keys(fn)) assert.ok(["name", "deployedHash", "currentHash", "status", "commitsBehind"].includes(key), key);
      assert.match(String(fn["deployedHash"]), /^[0-9a-f]{64}$/);
    }
    assert.deepEqual(
      functions.filter((f) => f["status"] === "code-drift").map((f) => f["name"]),
      [fx.CHANGED_FUNCTION],
    );
  });

  it("prints markdown without colour codes when stdout is not a terminal", async () => {
    const result = await runDrift(["--preview", fixture("code-changed.json")]);
    assert.equal(result.code, 1);
    assert.ok(!result.stdout.includes(ESC), "no escape codes in piped output");
    assert.match(result.stdout, /^\| phase3-to-phase4-orchestrator \| code-drift \| `[0-9a-f]{12}` \| `[0-9a-f]{12}` \|/m);
    assert.match(result.stdout, /^\| --- \| --- \| --- \| --- \| --- \|$/m);
  });

  it("colours only on a terminal, and not when NO_COLOR is set (positive control through script(1))", () => {
    const command = `'${process.execPath}' --import tsx tools/drift.ts --preview '${fixture("code-changed.json")}'`;
    const onTty = (env: NodeJS.ProcessEnv) =>
      spawnSync("script", ["-qec", command, "/dev/null"], { cwd: REPO, env, encoding: "utf8" });
    const colored = onTty({ ...process.env, NO_COLOR: "" });
    assert.equal(colored.error, undefined, "script(1) from util-linux is needed for this test");
    assert.ok(colored.stdout.includes(`${ESC}[31mcode-drift`), "a terminal gets colour");
    const plain = onTty({ ...process.env, NO_COLOR: "1" });
    assert.ok(plain.stdout.includes("code-drift"));
    assert.ok(!plain.stdout.includes(ESC), "NO_COLOR wins over the terminal");
  });
});

describe("drift: commits behind (git)", function () {
  // A hang guard: the tool runs in a child process, slow to start on a busy machine.
  this.timeout(180_000);
  let repo: string;
  const git = (...args: string[]) => {
    const result = spawnSync("git", ["-C", repo, ...args], {
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" },
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim();
  };
  const commitFile = (file: string, content: string) => {
    mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    writeFileSync(path.join(repo, file), content);
    git("add", file);
    git("commit", "-qm", `change ${file}`);
  };
  const writeMetafile = (fn: string, inputs: string[]) => {
    const dir = path.join(repo, "dist", "functions", fn);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "meta.json"), JSON.stringify({ inputs: Object.fromEntries(inputs.map((i) => [i, { bytes: 1, imports: [] }])), outputs: {} }));
  };

  beforeEach(() => {
    repo = mkdtempSync(path.join(tmpdir(), "drift-git-"));
    git("init", "-q", "-b", "main");
    writeFileSync(path.join(repo, ".gitignore"), "dist/\n");
    commitFile("functions/orchestrators/phase3-to-phase4.ts", "v1");
    commitFile("functions/core/shared.ts", "v1");
    commitFile("functions/orchestrators/phase2-to-phase3.ts", "v1");
    commitFile("package-lock.json", "{}");
    git("tag", "deployed/dev");
    writeMetafile(fx.CHANGED_FUNCTION, [
      "functions/orchestrators/phase3-to-phase4.ts",
      "functions/core/shared.ts",
      "node_modules/zod/index.js",
      "<define:process.env.X>",
    ]);
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it("counts the commits since deployed/<stack> that touched the function's bundle inputs only", async () => {
    commitFile("functions/orchestrators/phase3-to-phase4.ts", "v2"); // counted: its entry
    commitFile("functions/orchestrators/phase2-to-phase3.ts", "v2"); // not counted: another function
    commitFile("functions/core/shared.ts", "v2"); // counted: shared code it includes
    commitFile("package-lock.json", '{"v":2}'); // counted: its bundle includes node_modules
    commitFile("README.md", "docs"); // not counted
    const result = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo]);
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as { functions: { name: string; commitsBehind?: number }[] };
    const byName = Object.fromEntries(doc.functions.map((f) => [f.name, f]));
    assert.equal(byName[fx.CHANGED_FUNCTION]?.commitsBehind, 3);
    for (const name of fx.FUNCTION_NAMES.filter((n) => n !== fx.CHANGED_FUNCTION)) {
      assert.ok(!("commitsBehind" in (byName[name] ?? {})), `${name} is in sync: no count`);
    }
  });

  it("omits the count, with a reason on stderr, when there is no deployed tag", async () => {
    commitFile("functions/orchestrators/phase3-to-phase4.ts", "v2");
    git("tag", "-d", "deployed/dev");
    const result = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo]);
    const doc = JSON.parse(result.stdout) as { functions: { name: string; commitsBehind?: number }[] };
    assert.ok(doc.functions.every((f) => f.commitsBehind === undefined));
    assert.match(result.stderr, /commits behind unknown for phase3-to-phase4-orchestrator: no ref deployed\/dev/);
  });

  it("omits the count rather than say 0 when no commit since the tag touched the sources", async () => {
    commitFile("README.md", "docs");
    const result = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo]);
    const doc = JSON.parse(result.stdout) as { functions: { name: string; commitsBehind?: number }[] };
    assert.ok(doc.functions.every((f) => f.commitsBehind === undefined));
    assert.match(result.stderr, /no commit since deployed\/dev touched its sources/);
  });

  it("omits the count when the build wrote no metafile, and honours --deployed-ref", async () => {
    rmSync(path.join(repo, "dist"), { recursive: true });
    const first = git("rev-list", "--max-parents=0", "HEAD");
    const result = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo, "--deployed-ref", first]);
    assert.match(result.stderr, /the build recorded no bundle inputs \(neither dist\/functions\/phase3-to-phase4-orchestrator\/meta\.json/);

    writeMetafile(fx.CHANGED_FUNCTION, ["functions/orchestrators/phase3-to-phase4.ts"]);
    const counted = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo, "--deployed-ref", first]);
    const doc = JSON.parse(counted.stdout) as { functions: { name: string; commitsBehind?: number }[] };
    // The first commit created phase3-to-phase4.ts; nothing touched it since.
    assert.equal(doc.functions.find((f) => f.name === fx.CHANGED_FUNCTION)?.commitsBehind, undefined);
    commitFile("functions/orchestrators/phase3-to-phase4.ts", "v2");
    const after = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo, "--deployed-ref", first]);
    const docAfter = JSON.parse(after.stdout) as { functions: { name: string; commitsBehind?: number }[] };
    assert.equal(docAfter.functions.find((f) => f.name === fx.CHANGED_FUNCTION)?.commitsBehind, 1);
  });

  it("reads the bundle inputs from the build manifest when there is no metafile", async () => {
    rmSync(path.join(repo, "dist"), { recursive: true });
    mkdirSync(path.join(repo, "dist", "functions"), { recursive: true });
    const manifest = {
      functions: {
        [fx.CHANGED_FUNCTION]: { sha256: fx.codeHash(fx.CHANGED_FUNCTION, 2), archive: "x.zip", bytes: 1, inputs: ["functions/core/shared.ts"] },
      },
    };
    writeFileSync(path.join(repo, "dist", "functions", "manifest.json"), JSON.stringify(manifest));
    commitFile("functions/core/shared.ts", "v2");
    commitFile("functions/orchestrators/phase3-to-phase4.ts", "v2"); // not in this manifest's inputs
    const result = await runDrift(["--preview", fixture("code-changed.json"), "--json", "--repo", repo]);
    const doc = JSON.parse(result.stdout) as { functions: { name: string; commitsBehind?: number }[] };
    assert.equal(doc.functions.find((f) => f.name === fx.CHANGED_FUNCTION)?.commitsBehind, 1, result.stderr);
  });

  it("says so when the directory is no git repository", async () => {
    const plain = mkdtempSync(path.join(tmpdir(), "drift-nogit-"));
    try {
      const result = await runDrift(["--preview", fixture("code-changed.json"), "--repo", plain]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /commits behind not counted: .* is not in a git repository/);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});

// The command-line tools parse their arguments before loading anything heavy: --help and a usage
// error answer without the Pulumi runtime, the Google clients, esbuild or the emulator code, so they
// are quick however busy the machine is. What a run loaded is recorded by a module-resolution hook
// (test/fixtures/cli/record-imports.mjs); the verdict never depends on how long the run took.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const REPO = path.resolve(import.meta.dirname, "../..");
const HOOK = path.join(REPO, "test/fixtures/cli/record-imports.mjs");
const HEAVY = /\/node_modules\/(@pulumi\/|@google-cloud\/|google-gax\/|esbuild\/|opossum\/)/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  loaded: string[];
}

function run(entry: string, args: string[]): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), "cli-imports-"));
  const file = path.join(dir, "imports.txt");
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--import", HOOK, path.join(REPO, entry), ...args], {
      cwd: REPO,
      env: { ...process.env, RECORD_IMPORTS_FILE: file },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      let loaded: string[];
      try {
        loaded = readFileSync(file, "utf8").split("\n").filter(Boolean);
      } catch {
        loaded = [];
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr, loaded });
    });
  });
}

// Every command-line tool: --help (exit 0) and a bad command line (exit 2, the tool's one-line
// usage error naming what was wrong) before anything heavy is loaded.
const USAGE_ERROR = (tool: string, what: string) => new RegExp(`^${tool}: usage error: .*${what}`, "m");
const cases: { entry: string; args: string[]; code: number; says: RegExp }[] = [
  { entry: "tools/local-stack/cli.ts", args: ["--help"], code: 0, says: /usage: npm start/ },
  { entry: "tools/local-stack/cli.ts", args: ["--fault", "disk-full"], code: 2, says: /disk-full/ },
  { entry: "tools/local-stack/cli.ts", args: ["--no-such-flag"], code: 2, says: USAGE_ERROR("start", "no-such-flag") },
  { entry: "tools/plan.ts", args: ["--help"], code: 0, says: /usage: npm run plan/ },
  { entry: "tools/plan.ts", args: ["--json"], code: 2, says: USAGE_ERROR("plan", "--stack is required") },
  { entry: "tools/plan.ts", args: ["--stack"], code: 2, says: USAGE_ERROR("plan", "--stack") },
  { entry: "bench/run.ts", args: ["--help"], code: 0, says: /npm run bench/ },
  { entry: "bench/run.ts", args: ["--no-such-flag"], code: 2, says: USAGE_ERROR("bench", "no-such-flag") },
  { entry: "bench/run.ts", args: ["--runs", "0"], code: 2, says: USAGE_ERROR("bench", "--runs must be a positive integer") },
  { entry: "tools/drift.ts", args: ["--help"], code: 0, says: /usage: npm run -s drift/ },
  { entry: "tools/drift.ts", args: ["--colour"], code: 2, says: USAGE_ERROR("drift", "--colour") },
  { entry: "tools/build.ts", args: ["--help"], code: 0, says: /usage: npm run build/ },
  { entry: "tools/build.ts", args: ["--watch"], code: 2, says: USAGE_ERROR("build", "--watch") },
  { entry: "tools/adopt.ts", args: ["--help"], code: 0, says: /usage: npm run -s adopt/ },
  { entry: "tools/adopt.ts", args: ["--stack", "dev", "--force"], code: 2, says: USAGE_ERROR("adopt", "--force") },
  { entry: "tools/alert-test.ts", args: ["--help"], code: 0, says: /usage: npm run alert:test/ },
  { entry: "tools/alert-test.ts", args: ["--webhook-url"], code: 2, says: USAGE_ERROR("alert:test", "--webhook-url") },
  { entry: "tools/shadow-report.ts", args: ["--help"], code: 0, says: /usage: npm run -s shadow:report/ },
  { entry: "tools/shadow-report.ts", args: ["--stack", "dev", "--until", "yesterday"], code: 2, says: USAGE_ERROR("shadow:report", "--until must be a date") },
  { entry: "tools/chaos.ts", args: ["--help"], code: 0, says: /usage: npm run chaos/ },
  { entry: "tools/chaos.ts", args: ["--seed", "minus-one"], code: 2, says: USAGE_ERROR("chaos", "--seed must be a whole number") },
];

describe("CLIs answer --help and usage errors before loading heavy modules", function () {
  // Each run starts a Node process with tsx: generous for a loaded machine; the assertions are about
  // what was loaded and answered, never about the time taken.
  this.timeout(180_000);

  for (const c of cases) {
    it(`${c.entry} ${c.args.join(" ")}: exit ${c.code}, says so, loads none of @pulumi, @google-cloud, google-gax, esbuild, opossum`, async () => {
      const r = await run(c.entry, c.args);
      assert.equal(r.code, c.code, r.stderr);
      assert.match(r.stdout + r.stderr, c.says);
      assert.ok(r.loaded.length > 0, "the hook recorded the run's imports");
      assert.deepEqual(r.loaded.filter((url) => HEAVY.test(url)), [], "heavy modules loaded before the answer");
    });
  }
});

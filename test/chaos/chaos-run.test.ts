// `npm run chaos` end to end, one short seed: the CLI as a child process on its own local stack
// (emulators, fake, functions), one game date, faults for half a minute, then recovery and the
// invariants. The assertions are about the invariants and the document, never about timings; the
// bound only catches a hang (recovery may take the longest declared backoff).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { INVARIANT_NAMES } from "../../tools/chaos/invariants.ts";
import { emulatorsDisabled } from "../harness/global-fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** The seed npm test runs (a green one; docs/CHAOS.md lists the seeds run). */
export const TEST_SEED = 4;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChaosCli(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const childEnv = { ...env };
  // The run starts its own emulators; the test process's must not leak into it.
  delete childEnv.FIRESTORE_EMULATOR_HOST;
  delete childEnv.PUBSUB_EMULATOR_HOST;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "tools/chaos.ts", ...args], { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGINT");
      reject(new Error(`npm run chaos ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("npm run chaos", function () {
  this.timeout(1_500_000);

  it("--help prints the usage (exit 0); a bad flag is a usage error (exit 2)", async () => {
    const help = await runChaosCli(["--help"], 240_000);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /usage: npm run chaos/);
    const bad = await runChaosCli(["--seed", "minus-one"], 240_000);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--seed must be a whole number/);
  });

  it("without gcloud and Java on PATH it exits 2 with one JSON document naming what is missing", async () => {
    const r = await runChaosCli(["--json", "--seed", "1"], 240_000, { ...process.env, PATH: path.dirname(process.execPath) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /gcloud is not on PATH/);
    const doc = JSON.parse(r.stdout) as { ok: boolean; seed: number; replay: string };
    assert.equal(doc.ok, false);
    assert.equal(doc.seed, 1);
    assert.match(doc.replay, /--seed 1 /);
  });

  it(`a short seeded run (seed ${TEST_SEED}, 1 date, 2 instances, 0.5 min of faults): every invariant holds, exit 0`, async function () {
    if (emulatorsDisabled()) this.skip();
    const args = ["--seed", String(TEST_SEED), "--dates", "1", "--instances", "2", "--minutes", "0.5", "--json"];
    const r = await runChaosCli(args, 1_400_000);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `stdout must be one JSON document:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    const doc = JSON.parse(lines[0]!) as {
      ok: boolean;
      seed: number;
      dates: string[];
      instances: number;
      faults: { fault: string; target: string; from: number; to: number; healedAt: number | null }[];
      invariants: { name: string; ok: boolean; detail: string }[];
      duplicates: { triggerDeliveries: number; crashes: number };
      replay: string;
    };
    const context = JSON.stringify(doc.invariants, null, 1) + "\n" + r.stderr.slice(-3000);
    assert.deepEqual(
      doc.invariants.map((i) => i.name),
      [...INVARIANT_NAMES],
      context,
    );
    for (const inv of doc.invariants) assert.equal(inv.ok, true, `${inv.name}: ${inv.detail}\n${context}`);
    assert.equal(doc.ok, true, context);
    assert.equal(r.code, 0, context);
    assert.equal(doc.seed, TEST_SEED);
    assert.equal(doc.dates.length, 1);
    assert.equal(doc.instances, 2);
    // The schedule was applied: every dependency faulty at least once, at least one crash, all healed.
    for (const prefix of ["firestore-", "bigquery-", "pubsub-", "slack-", "crash"]) assert.ok(doc.faults.some((f) => f.fault.startsWith(prefix)), `${prefix} missing`);
    for (const f of doc.faults) assert.notEqual(f.healedAt, null, `${f.fault} never healed`);
    assert.ok(doc.duplicates.triggerDeliveries <= doc.duplicates.crashes);
    assert.equal(doc.replay, `npm run chaos -- --seed ${TEST_SEED} --dates 1 --instances 2 --minutes 0.5 --stack dev`);
  });
});

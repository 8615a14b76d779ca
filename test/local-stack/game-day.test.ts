// `npm start` end to end: the CLI as a child process (--json, no fault), and every fault on one local
// stack started from the dev stack's program (one game date per scenario, each its own date, so the
// scenarios do not share phase state). The CLI run goes on in parallel with the fault scenarios.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FAULT_NAMES, type FaultName } from "../../tools/local-stack/args.ts";
import { findFreePort } from "../../tools/local-stack/emulators.ts";
import { isPortFree, reserveFreePorts } from "../../tools/emulators/emulators.ts";
import { serveFunction, unpackArchive } from "../../tools/local-stack/function-host.ts";
import { runGameDay } from "../../tools/local-stack/game-day.ts";
import { gameDates } from "../../tools/local-stack/messages.ts";
import type { GameDayReport } from "../../tools/local-stack/report.ts";
import { PortTakenError } from "../../tools/local-stack/stack-types.ts";
import { awaitHealthy, localFunctionEnv, startLocalStack, type LocalStack } from "../../tools/local-stack/stack.ts";
import { emulatorsDisabled } from "../harness/global-fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TRANSITIONS = ["phase2-to-phase3", "phase3-to-phase4", "phase4-to-phase5", "phase5-to-phase6"];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], timeoutMs = 420_000, opts: { env?: NodeJS.ProcessEnv; onStderr?: (all: string, child: ChildProcess) => void } = {}): Promise<CliRun> {
  // The CLI starts its own emulators; the test process's emulator hosts must not leak into it.
  const env = { ...(opts.env ?? process.env) };
  delete env.FIRESTORE_EMULATOR_HOST;
  delete env.PUBSUB_EMULATOR_HOST;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "tools/local-stack/cli.ts", ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
      opts.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill("SIGINT");
      reject(new Error(`npm start ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertRecovered(r: GameDayReport, date: string, quarantined: number): void {
  const context = JSON.stringify({ problems: r.problems, triggers: r.triggers, completions: r.completions, faults: r.faults, checks: r.faultChecks });
  assert.equal(r.ok, true, context);
  assert.deepEqual(
    r.triggers.map((t) => [t.transition, t.gameDate, t.count]),
    TRANSITIONS.map((t) => [t, date, 1]),
    context,
  );
  // 5 + 5 + 5 processors and one coordinator, each counted once whatever the duplicates and retries.
  assert.equal(r.completions.published, 16, context);
  assert.equal(r.completions.firestore, r.completions.published, context);
  assert.equal(r.completions.bigquery, r.completions.published, context);
  assert.ok(r.completions.duplicatesPublished >= 1, context);
  assert.equal(r.deadLettered, 0, context);
  assert.equal(r.quarantined, quarantined, context);
  assert.deepEqual(r.pendingTriggers, [], context);
}

describe("npm start: the local stack and its game day", function () {
  this.timeout(900_000);
  let cliRun: Promise<CliRun> | undefined;

  before(function () {
    if (emulatorsDisabled()) this.skip();
    cliRun = runCli(["--json"]);
    // Rejections are awaited in the CLI test; keep an early one from being reported as unhandled.
    cliRun.catch(() => undefined);
  });

  describe("CLI flags that need no emulator", () => {
    // They run while the game day started in before() loads the machine: the bound only catches a hang
    // (the flags themselves answer before any heavy module is loaded, test/ops/cli-startup.test.ts).
    const CLI_BOUND_MS = 240_000;
    it("--help prints the usage and exits 0", async () => {
      const r = await runCli(["--help"], CLI_BOUND_MS);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--fault <name>/);
      for (const f of FAULT_NAMES) assert.match(r.stdout, new RegExp(f));
    });

    it("an unknown fault is a usage error (exit 2)", async () => {
      const r = await runCli(["--fault", "disk-full"], CLI_BOUND_MS);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown fault "disk-full"/);
    });

    it("without gcloud and Java on PATH it exits 2 naming both, before starting anything", async () => {
      const r = await runCli(["--json"], CLI_BOUND_MS, { env: { ...process.env, PATH: path.dirname(process.execPath) } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /gcloud is not on PATH/);
      assert.match(r.stderr, /java does not run/);
      assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, false);
    });

    it("an unknown stack exits 2 before starting anything, with one JSON document under --json", async () => {
      const r = await runCli(["--stack", "nosuchstack", "--json"], CLI_BOUND_MS);
      assert.equal(r.code, 2, r.stderr);
      const doc = JSON.parse(r.stdout) as { ok: boolean; error: string };
      assert.equal(doc.ok, false);
      assert.match(doc.error, /unknown stack "nosuchstack"/);
      assert.doesNotMatch(r.stderr, /starting the emulators/);
    });
  });

  describe("faults on one started stack", () => {
    let stack: LocalStack | undefined;
    const log: string[] = [];

    before(async function () {
      if (emulatorsDisabled()) this.skip();
      stack = await startLocalStack({ stack: "dev", log: (l) => log.push(l) });
    });
    after(async () => {
      await stack?.close();
    });

    // Offsets 1.. keep every scenario on its own game date (the CLI run uses yesterday, in its own emulators).
    FAULT_NAMES.forEach((fault: FaultName, i) => {
      it(`${fault}: injected for a window, healed, and every transition still triggers exactly once`, async () => {
        const [date] = gameDates(1, new Date(), stack!.pipeline.timeZone, i + 1);
        const report = await runGameDay(stack!, { dates: [date!], faults: [fault], log: (l) => log.push(l) });
        assert.deepEqual(
          report.faults.map((f) => f.name),
          [fault],
        );
        assert.ok(report.faults[0]!.healedAtMs !== null && report.faults[0]!.healedAtMs >= report.faults[0]!.injectedAtMs);
        assertRecovered(report, date!, fault === "malformed" ? 3 : fault === "slack-down" ? 2 : 0);
        if (fault === "slack-down") {
          assert.ok(report.alertsRefused > 0, "alerts were refused while Slack was down");
          assert.ok(report.alerts > 0, "alerts arrived after Slack healed");
        }
        if (fault === "crash-before-publish") assert.match(report.faults[0]!.detail, /SIGKILLed while trigger phase2-to-phase3:\S+ was pending/);
      });
    });

    it("a function whose environment lacks a variable the runtime reads is reported misconfigured, naming it", async () => {
      const fn = stack!.plan.functions.find((f) => f.environment.TRANSITION_ID === "phase2-to-phase3")!;
      const workDir = await mkdtemp(path.join(tmpdir(), "local-stack-test-"));
      const port = await findFreePort();
      try {
        const unpacked = await unpackArchive(ROOT, fn.archive, "broken", workDir);
        const { env } = localFunctionEnv(fn, {
          slackUrl: stack!.slack.url,
          firestoreHost: stack!.firestore.host,
          pubsubHost: stack!.pubsub.host,
          bigqueryUrl: stack!.bigquery.url,
          project: stack!.project,
          port,
        });
        delete env.BQ_DATASET;
        const served = await serveFunction({ name: "broken", unpacked, target: fn.entryPoint, port, env });
        try {
          const problem = await awaitHealthy("broken", served.url, () => undefined);
          assert.ok(problem !== undefined);
          assert.match(problem, /broken is misconfigured: .*BQ_DATASET/);
        } finally {
          await served.stop();
        }
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    });

    it("a function is not started on a port another process holds (it would answer for it): PortTakenError, nothing spawned", async () => {
      const blocker = await reserveFreePorts(1);
      const port = blocker.ports[0]!;
      const workDir = await mkdtemp(path.join(tmpdir(), "local-stack-test-"));
      try {
        const fn = stack!.plan.functions[0]!;
        const unpacked = await unpackArchive(ROOT, fn.archive, "taken", workDir);
        await assert.rejects(serveFunction({ name: "taken", unpacked, target: fn.entryPoint, port, env: {} }), PortTakenError);
      } finally {
        await blocker.release();
        await rm(workDir, { recursive: true, force: true });
      }
    });
  });

  describe("instance ports", () => {
    it("reserved ports are distinct and held until released, then free", async () => {
      const reserved = await reserveFreePorts(40);
      assert.equal(new Set(reserved.ports).size, 40);
      assert.deepEqual(await Promise.all(reserved.ports.slice(0, 3).map(isPortFree)), [false, false, false]);
      await reserved.release();
      assert.deepEqual(await Promise.all(reserved.ports.slice(0, 3).map(isPortFree)), [true, true, true]);
    });
  });

  describe("Ctrl-C", () => {
    it("SIGINT during the game day stops every process it started (exit 130, ports free)", async () => {
      let signalled = false;
      const r = await runCli(["--fault", "bigquery-down"], 300_000, {
        onStderr: (all, child) => {
          if (!signalled && /game day /.test(all)) {
            signalled = true;
            child.kill("SIGINT");
          }
        },
      });
      assert.ok(signalled, r.stderr);
      assert.equal(r.code, 130, r.stderr.slice(-3000));
      const ports = [...r.stderr.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      assert.ok(ports.length >= 4, `ports named in the progress lines: ${ports.join(", ")}`);
      for (const port of new Set(ports)) assert.equal(await isPortFree(port), true, `port ${port} is still in use after the CLI exited`);
    });
  });

  // After the scenarios above (mocha runs a suite's own tests before its nested suites), so the CLI
  // child started in before() has been running alongside them.
  describe("the CLI run", () => {
    it("npm start -- --json (no fault): one JSON document, exit 0, each transition triggered once, nothing lost", async function () {
      if (cliRun === undefined) this.skip();
      const r = await cliRun;
      assert.equal(r.code, 0, r.stderr.slice(-4000));
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 1, `stdout must be one JSON document:\n${r.stdout}`);
      const doc = JSON.parse(lines[0]!) as GameDayReport;
      assert.equal(doc.ok, true);
      assert.equal(doc.stack, "dev");
      assert.equal(doc.dates.length, 1);
      assert.deepEqual(
        doc.triggers.map((t) => [t.transition, t.count]),
        TRANSITIONS.map((t) => [t, 1]),
      );
      assert.equal(doc.completions.published, 16);
      assert.equal(doc.completions.firestore, 16);
      assert.equal(doc.completions.bigquery, 16);
      assert.equal(doc.deadLettered, 0);
      assert.equal(doc.quarantined, 0);
      assert.deepEqual(doc.faults, []);
      // Progress went to stderr, one line per phase.
      for (const t of TRANSITIONS) assert.match(r.stderr, new RegExp(`${t}\\s+${doc.dates[0]}\\s+triggered`));
    });
  });
});

// `npm start -- --stack staging|prod`: the runtime refuses emulator hosts and local knobs when
// DEPLOY_ENV is staging or prod (functions/core/runtime-env.ts), so the local stack runs those
// stacks' functions with DEPLOY_ENV=local and says so; the refusal itself stays as it is.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { parseRuntimeEnv, RuntimeEnvError } from "../../functions/core/runtime-env.ts";
import type { LocalFunction } from "../../tools/local-stack/declared.ts";
import type { GameDayReport } from "../../tools/local-stack/report.ts";
import { LOCAL_DEPLOY_ENV, localFunctionEnv } from "../../tools/local-stack/stack.ts";
import { emulatorsDisabled } from "../harness/global-fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const HASH = "a".repeat(64);

const declaredFn = (deployEnv: string): LocalFunction => ({
  resource: "fn",
  name: "phase2-to-phase3-orchestrator",
  entryPoint: "handler",
  runtime: "nodejs22",
  archive: `dist/functions/fn/${HASH}.zip`,
  codeHash: HASH,
  environment: {
    PIPELINE_CONFIG: "{}",
    FUNCTION_NAME: "phase2-to-phase3-orchestrator",
    CODE_HASH: HASH,
    GCP_PROJECT_ID: "p",
    BQ_DATASET: "nba_orchestration",
    FIRESTORE_COLLECTION_PREFIX: "",
    DEPLOY_ENV: deployEnv,
    FUNCTION_TIMEOUT_SECONDS: "60",
    TRIGGER_MODE: "live",
    TRANSITION_ID: "phase2-to-phase3",
  },
  secretEnvironment: { SLACK_WEBHOOK_URL: "slack-webhook-url" },
  timeoutSeconds: 60,
  concurrency: 1,
  declaredUrl: "https://fn.example/",
});

const LOCAL = { slackUrl: "http://127.0.0.1:1/hook", firestoreHost: "127.0.0.1:2", pubsubHost: "127.0.0.1:3", bigqueryUrl: "http://127.0.0.1:4", project: "p", port: 5 };

describe("npm start on the staging and prod stacks", function () {
  this.timeout(900_000);

  for (const env of ["staging", "prod"]) {
    it(`${env}: the function runs with DEPLOY_ENV=${LOCAL_DEPLOY_ENV} and emulator hosts, which the runtime accepts; the note says so`, () => {
      const { env: local, notes } = localFunctionEnv(declaredFn(env), LOCAL);
      assert.equal(local.DEPLOY_ENV, LOCAL_DEPLOY_ENV);
      assert.equal(local.FIRESTORE_EMULATOR_HOST, "127.0.0.1:2");
      assert.equal(parseRuntimeEnv(local, "orchestrator").environment, LOCAL_DEPLOY_ENV);
      assert.ok(notes.some((n) => n.includes(`DEPLOY_ENV=${env} runs as ${LOCAL_DEPLOY_ENV} locally`)), notes.join("\n"));
      // The refusal is untouched: the same environment under the declared DEPLOY_ENV does not start.
      assert.throws(() => parseRuntimeEnv({ ...local, DEPLOY_ENV: env }, "orchestrator"), (e: unknown) => e instanceof RuntimeEnvError && /FIRESTORE_EMULATOR_HOST: a local\/test setting/.test(e.message));
    });
  }

  it("dev keeps its declared DEPLOY_ENV", () => {
    const { env, notes } = localFunctionEnv(declaredFn("dev"), LOCAL);
    assert.equal(env.DEPLOY_ENV, "dev");
    assert.deepEqual(notes, []);
  });

  it("npm start -- --stack staging --dates 1 --json exits 0 (every function healthy, every transition once)", async function () {
    if (emulatorsDisabled()) this.skip();
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    delete childEnv.FIRESTORE_EMULATOR_HOST;
    delete childEnv.PUBSUB_EMULATOR_HOST;
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "tools/local-stack/cli.ts", "--stack", "staging", "--dates", "1", "--json"], { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
      child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      const timer = setTimeout(() => {
        child.kill("SIGINT");
        reject(new Error(`npm start --stack staging did not finish within 600 s:\n${stderr.slice(-3000)}`));
      }, 600_000);
      child.on("error", reject);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const doc = JSON.parse(r.stdout) as GameDayReport;
    assert.equal(doc.stack, "staging");
    assert.deepEqual(
      doc.triggers.map((t) => t.count),
      [1, 1, 1, 1],
    );
    assert.ok(doc.notes.some((n) => n.includes(`DEPLOY_ENV=staging runs as ${LOCAL_DEPLOY_ENV} locally`)), doc.notes.join("\n"));
  });
});

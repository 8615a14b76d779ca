// docs/ARCHITECTURE.md FM1: a function crashed at import because a module was missing from
// what was deployed, and nothing alerted for days. Here every archive is unpacked into a folder with
// no node_modules except what its own package-lock.json installs, started under the functions
// framework, and driven against the Firestore and Pub/Sub emulators and the BigQuery fake: /health
// must answer 200 with the code hash, and a completion push must be recorded (2xx).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { PubSub } from "@google-cloud/pubsub";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { BIGQUERY_API_ENDPOINT } from "../../functions/lib/orchestrator-runtime.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { buildArchives } from "../../infra/bundle/build-all.ts";
import { functionEnvironment } from "../../infra/function-env.ts";
import { functionRegistry } from "../../infra/function-registry.ts";
import { startBigQueryFake, provisionOrchestrationTables } from "../../tools/bigquery-fake/index.ts";
import type { BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { emulatorsDisabled, sharedEmulators } from "../harness/global-fixtures.ts";
import { findFreePort } from "../../tools/emulators/emulators.ts";
import { ROOT } from "./helpers.ts";

const run = promisify(execFile);
const DATASET = "nba_orchestration";

/** Install what the archive's lockfile lists, copied (not linked) from the root install, each package without its nested node_modules. */
async function installFromLock(dir: string): Promise<void> {
  const lock = JSON.parse(await readFile(path.join(dir, "package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
  for (const lockPath of Object.keys(lock.packages)) {
    if (lockPath === "") continue;
    const from = path.join(ROOT, lockPath);
    await cp(from, path.join(dir, lockPath), {
      recursive: true,
      dereference: true,
      filter: (src) => !path.relative(from, src).split(path.sep).includes("node_modules"),
    });
  }
}

/**
 * The first answer of url once the function listens (a hang guard of 120 s: loading a bundle on a busy
 * machine is slow). A /health that answers "degraded" (a first dependency check can time out on a cold,
 * busy machine, and the result is cached 30 s) is asked again until healthy; "misconfigured" is final.
 */
async function waitForHttp(url: string, child: ChildProcess, logs: () => string): Promise<Response> {
  const first = await firstAnswer(url, child, logs);
  if (first.status !== 503) return first;
  const deadline = Date.now() + 120_000;
  let res = first;
  while (res.status === 503 && ((await res.clone().json()) as { status?: string }).status === "degraded" && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2_000));
    res = await fetch(url);
  }
  return res;
}

async function firstAnswer(url: string, child: ChildProcess, logs: () => string): Promise<Response> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the function exited with ${child.exitCode} before answering:\n${logs()}`);
    try {
      return await fetch(url);
    } catch (error) {
      // Connection refused while the framework starts; anything else after the deadline is a failure.
      if (Date.now() > deadline) throw new Error(`no answer from ${url} within 120 s: ${String(error)}\n${logs()}`, { cause: error });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe("function archives run from a folder with only their own dependencies", function () {
  this.timeout(240_000);
  let fake: BigQueryFake | undefined;

  before(async function () {
    if (emulatorsDisabled()) this.skip();
    const { projectId } = sharedEmulators();
    fake = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: fake.url }), DATASET);
  });
  after(async () => {
    await fake?.stop();
  });

  const pipeline = loadPipeline();
  for (const spec of functionRegistry(pipeline)) {
    const work = spec.kind === "orchestrator" ? "records a completion" : "runs its scheduled job";
    it(`${spec.name}: loads, answers /health 200 with its code hash, ${work}`, async () => {
      const { projectId, firestore, pubsub } = sharedEmulators();
      const transition = pipeline.transitions.find((t) => t.id === spec.transitionId);
      const [archive] = await buildArchives(ROOT, [spec]);
      const dir = await mkdtemp(path.join(tmpdir(), "fn-archive-"));
      let child: ChildProcess | undefined;
      try {
        await writeFile(path.join(dir, "archive.zip"), archive!.zip);
        await run("unzip", ["-q", "archive.zip"], { cwd: dir });
        await rm(path.join(dir, "archive.zip"));
        await installFromLock(dir);

        // Health checks the topics the function publishes to.
        const ps = new PubSub({ projectId });
        const [topics] = await ps.getTopics();
        for (const name of spec.publishesTo) {
          if (!topics.some((t) => t.name.endsWith(`/${name}`))) await ps.createTopic(name);
        }
        await ps.close();

        const port = await findFreePort();
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          ...functionEnvironment(spec, pipeline, { project: projectId, bigquery: { datasetId: DATASET, location: "US", deletionProtection: false }, firestoreCollectionPrefix: "bundletest_", environment: "test", functions: { timeoutSeconds: 60 } }, archive!.sha256),
          FIRESTORE_EMULATOR_HOST: firestore.host,
          PUBSUB_EMULATOR_HOST: pubsub.host,
          [BIGQUERY_API_ENDPOINT]: fake!.url,
          GOOGLE_CLOUD_PROJECT: projectId,
          METADATA_SERVER_DETECTION: "none",
        };
        let output = "";
        child = spawn(process.execPath, [path.join(dir, "node_modules/@google-cloud/functions-framework/build/src/main.js"), `--target=${spec.target}`, `--port=${port}`, `--source=${dir}`], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (output += d.toString()));

        const health = await waitForHttp(`http://127.0.0.1:${port}/health`, child, () => output);
        const body = (await health.json()) as { status: string; version: string; dependencies: unknown };
        assert.equal(health.status, 200, `health: ${JSON.stringify(body)}\n${output}`);
        assert.equal(body.version, archive!.sha256);

        if (transition === undefined) {
          // A scheduled function: Cloud Scheduler POSTs with an empty body.
          const ran = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
          assert.equal(ran.status, 200, `scheduled run answered ${ran.status}: ${await ran.text()}\n${output}`);
          return;
        }
        const processor = transition.processors[0]!;
        const completion = {
          processor_name: processor.aliases[0] ?? processor.name,
          phase: transition.phaseWireName,
          execution_id: "abcd1234",
          correlation_id: "abcd1234",
          game_date: "2026-01-15",
          status: "success",
          timestamp: "2026-01-16T09:12:33.123456+00:00",
          ...(transition.rule.kind === "completion_pct" ? { metadata: { completion_pct: 50 } } : {}),
        };
        const insertsBefore = fake!.requests.filter((r) => r.api === "tabledata.insertAll").length;
        const push = await fetch(`http://127.0.0.1:${port}/`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            message: { data: Buffer.from(JSON.stringify(completion)).toString("base64"), messageId: "1", publishTime: new Date().toISOString(), attributes: {} },
            subscription: `projects/${projectId}/subscriptions/bundle-test`,
          }),
        });
        assert.ok(push.status >= 200 && push.status < 300, `push answered ${push.status}: ${await push.text()}\n${output}`);
        const insertsAfter = fake!.requests.filter((r) => r.api === "tabledata.insertAll").length;
        assert.ok(insertsAfter > insertsBefore, `the BigQuery client in the bundle reached the fake: ${fake!.requests.map((r) => r.api).join(", ")}`);
      } finally {
        child?.kill("SIGTERM");
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

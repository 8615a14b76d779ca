// Both scheduled entry points served by the real functions framework in a child process, as Cloud
// Scheduler reaches them: POST runs the job, GET /health answers from the health checker, a broken
// environment answers 500/503 with a CRITICAL log instead of crashing at import, and a store that is
// down turns a run into a 500 (Cloud Scheduler retries) with an alert.
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PubSub } from "@google-cloud/pubsub";
import { resolvePipeline } from "../../functions/core/pipeline.ts";
import type { PipelineConfig } from "../../functions/core/pipeline-types.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { postJson, settledHealth, startFunctionProcess, startSlackSink, TEST_CODE_HASH, TEST_DATASET, type FunctionProcess, type SlackSink } from "../runtime/support.ts";
import { isolatedPipelineConfig, scheduledEnv, uniquePrefix } from "./support.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRIES = [
  { kind: "sweeper", source: path.join(ROOT, "functions/scheduled/sweeper.ts"), target: "sweep", functionName: "phase-sweeper" },
  { kind: "reconciler", source: path.join(ROOT, "functions/scheduled/reconciler.ts"), target: "reconcile", functionName: "phase-reconciler" },
] as const;

describe("scheduled functions over HTTP (functions framework, child process)", function () {
  this.timeout(240_000);
  let bq: BigQueryFake;
  let slack: SlackSink;
  let pubsub: PubSub;
  let config: PipelineConfig;
  const running: FunctionProcess[] = [];

  before(async () => {
    const { projectId, pubsub: ps } = sharedEmulators();
    bq = await startBigQueryFake({ projectId });
    slack = await startSlackSink();
    pubsub = new PubSub({ projectId, apiEndpoint: ps.host });
  });
  beforeEach(async () => {
    bq.reset();
    await bq.setDown(false);
    await provisionOrchestrationTables(createBigQueryClient({ projectId: bq.projectId, apiEndpoint: bq.url }), TEST_DATASET);
    slack.received.length = 0;
    config = isolatedPipelineConfig();
    // /health checks every output topic the job may publish to.
    for (const t of resolvePipeline(config).transitions) await pubsub.topic(t.outputTopicName).get({ autoCreate: true });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((f) => f.stop()));
  });
  after(async () => {
    await bq.setDown(false);
    await bq.stop();
    await slack.close();
    await pubsub.close();
  });

  async function start(entry: (typeof ENTRIES)[number], envChange: (env: Record<string, string>) => void = () => {}) {
    const { projectId, firestore, pubsub: ps } = sharedEmulators();
    const env = {
      ...scheduledEnv({ functionName: entry.functionName, projectId, bigqueryUrl: bq.url, prefix: uniquePrefix(), pipeline: config, slackUrl: slack.url }),
      FIRESTORE_EMULATOR_HOST: firestore.host,
      PUBSUB_EMULATOR_HOST: ps.host,
      METADATA_SERVER_DETECTION: "none",
    };
    envChange(env);
    const fn = await startFunctionProcess({ source: entry.source, target: entry.target, env });
    running.push(fn);
    return fn;
  }

  for (const entry of ENTRIES) {
    it(`${entry.kind}: GET /health is healthy with the code hash; POST runs one job and answers 200 with its report`, async () => {
      const fn = await start(entry);
      const { status, body } = await settledHealth(fn.url);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.version, TEST_CODE_HASH);
      assert.equal(body.service, entry.functionName);

      const run = await postJson(fn.url, {});
      assert.equal(run.status, 200, JSON.stringify(run.body));
      assert.equal(run.body.ok, true);
      assert.equal(typeof run.body.runId, "string");
      const event = entry.kind === "sweeper" ? "sweep_completed" : "reconcile_completed";
      const summary = fn.logs.find((l) => l.event === event);
      assert.ok(summary, JSON.stringify(fn.logs.slice(-5)));
      assert.equal(summary.severity, "INFO");
      assert.equal((summary["logging.googleapis.com/labels"] as Record<string, string>).code_hash, TEST_CODE_HASH);

      const wrongMethod = await fetch(fn.url, { method: "PUT" });
      assert.equal(wrongMethod.status, 405);
    });

    it(`${entry.kind}: a broken environment does not crash the import: 503 on /health, 500 on POST, CRITICAL logged`, async () => {
      const fn = await start(entry, (env) => {
        delete env.PIPELINE_CONFIG;
        env.SCHEDULED_LOOKBACK_DAYS = "three";
      });
      const health = await fetch(`${fn.url}/health`);
      assert.equal(health.status, 503);
      const run = await postJson(fn.url, {});
      assert.equal(run.status, 500);
      assert.equal(run.body.status, "misconfigured");
      assert.match(String(run.body.error), /SCHEDULED_LOOKBACK_DAYS|PIPELINE_CONFIG/);
      const critical = fn.logsAt("CRITICAL");
      assert.ok(critical.some((l) => String(l.message).includes("cannot start")));
      assert.ok(critical.some((l) => String(l.message).includes("did no work")));
      assert.equal(fn.child.exitCode, null, "still serving");
    });
  }

  it("reconciler: BigQuery down -> POST answers 500, logs ERROR and alerts; /health reports it degraded", async () => {
    const fn = await start(ENTRIES[1]);
    await bq.setDown(true);
    const run = await postJson(fn.url, {});
    assert.equal(run.status, 500, JSON.stringify(run.body));
    assert.ok(fn.logsAt("ERROR").some((l) => String(l.message).includes("run failed")));
    assert.ok(slack.received.some((m) => String(m.text).includes("phase-reconciler run failed")));
    const health = await fetch(`${fn.url}/health`);
    const body = (await health.json()) as { dependencies: Record<string, { healthy: boolean }> };
    assert.equal(health.status, 503);
    assert.equal(body.dependencies.bigquery?.healthy, false);
    assert.equal(body.dependencies.firestore?.healthy, true);
  });
});

// The runtime path of the environment rules (functions/core/runtime-env.ts): an orchestrator and a
// scheduled job built from a staging/prod environment that points at local stand-ins, or has no
// Slack webhook, start misconfigured (GET 503, POST 500, CRITICAL on every request); in dev a missing
// webhook is allowed and said once. In-process, served through the functions framework's test server
// (no emulator is touched: a misconfigured function builds no client, and dev is only asked for 405).
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { http } from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { createOrchestratorFromEnv } from "../../functions/lib/orchestrator-runtime.ts";
import { createScheduledFromEnv } from "../../functions/scheduled/runtime.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { serializePipeline, loadPipeline } from "../../functions/core/pipeline.ts";
import { TEST_CODE_HASH, TEST_DATASET } from "./support.ts";

const TRANSITION = "phase2-to-phase3";

function environment(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    FUNCTION_NAME: `${TRANSITION}-orchestrator`,
    TRANSITION_ID: TRANSITION,
    CODE_HASH: TEST_CODE_HASH,
    GCP_PROJECT_ID: "deployed-env-test",
    BQ_DATASET: TEST_DATASET,
    FIRESTORE_COLLECTION_PREFIX: "deployedenv_",
    PIPELINE_CONFIG: serializePipeline(loadPipeline()),
    SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/x",
    DEPLOY_ENV: "prod",
    FUNCTION_TIMEOUT_SECONDS: "300",
    ...overrides,
  };
}

let served = 0;
/** Registers the handler with the functions framework and serves it on a free port. */
async function serve(handler: Parameters<typeof http>[1]): Promise<{ url: string; server: Server }> {
  const name = `deployed-env-${++served}`;
  http(name, handler);
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("deployed environments refuse local stand-ins and a missing webhook (runtime path)", function () {
  // Generous: in-process, but the machine may be loaded; nothing here waits on a timer.
  this.timeout(60_000);
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function answers(url: string) {
    const health = await fetch(`${url}/health`);
    const post = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    return { health: { status: health.status, body: (await health.json()) as Record<string, unknown> }, post: post.status };
  }

  const cases: { name: string; env: Record<string, string | undefined>; names: string[] }[] = [
    {
      name: "staging with the emulator hosts and the BigQuery fake's endpoint",
      env: {
        DEPLOY_ENV: "staging",
        FIRESTORE_EMULATOR_HOST: "127.0.0.1:8080",
        PUBSUB_EMULATOR_HOST: "127.0.0.1:8085",
        BIGQUERY_API_ENDPOINT: "http://127.0.0.1:9050",
      },
      names: ["FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "BIGQUERY_API_ENDPOINT"],
    },
    { name: "prod with BIGQUERY_EMULATOR_HOST", env: { BIGQUERY_EMULATOR_HOST: "http://127.0.0.1:9050" }, names: ["BIGQUERY_EMULATOR_HOST"] },
    { name: "prod without a Slack webhook", env: { SLACK_WEBHOOK_URL: undefined }, names: ["SLACK_WEBHOOK_URL"] },
    { name: "staging with an empty Slack webhook", env: { DEPLOY_ENV: "staging", SLACK_WEBHOOK_URL: "" }, names: ["SLACK_WEBHOOK_URL"] },
  ];

  for (const c of cases) {
    it(`orchestrator, ${c.name}: /health 503 and POST 500 "misconfigured", naming it, CRITICAL each time`, async () => {
      const logs = captureLogs();
      const { url, server } = await serve(createOrchestratorFromEnv(TRANSITION, environment(c.env), logs.logger));
      servers.push(server);
      assertMisconfigured(logs, await answers(url), c.names);
    });

    it(`sweeper, ${c.name}: the same`, async () => {
      const logs = captureLogs();
      const env = environment({ ...c.env, FUNCTION_NAME: "phase-sweeper", TRANSITION_ID: undefined });
      const { url, server } = await serve(createScheduledFromEnv("sweeper", env, logs.logger));
      servers.push(server);
      assertMisconfigured(logs, await answers(url), c.names);
    });
  }

  it("dev without a Slack webhook starts (not misconfigured) and says once, at ERROR, that alerts are only logged", async () => {
    for (const build of [
      (logs: LogCapture) => createOrchestratorFromEnv(TRANSITION, environment({ DEPLOY_ENV: "dev", SLACK_WEBHOOK_URL: "" }), logs.logger),
      (logs: LogCapture) =>
        createScheduledFromEnv("reconciler", environment({ DEPLOY_ENV: "dev", SLACK_WEBHOOK_URL: undefined, FUNCTION_NAME: "phase-reconciler", TRANSITION_ID: undefined }), logs.logger),
    ]) {
      const logs = captureLogs();
      const { url, server } = await serve(build(logs));
      servers.push(server);
      for (let i = 0; i < 2; i++) {
        const res = await fetch(url, { method: "PUT" });
        assert.equal(res.status, 405, "a built handler answers the method rule, not misconfigured");
      }
      assert.equal(logs.find("CRITICAL").length, 0);
      assert.equal(logs.find("ERROR", "SLACK_WEBHOOK_URL is not set: alerts are logged only").length, 1, "once per instance");
    }
  });
});

function assertMisconfigured(
  logs: LogCapture,
  answered: { health: { status: number; body: Record<string, unknown> }; post: number },
  names: string[],
): void {
  assert.equal(answered.health.status, 503);
  assert.equal(answered.health.body.status, "misconfigured");
  assert.equal(answered.post, 500);
  for (const name of names) assert.match(String(answered.health.body.error), new RegExp(`${name}: `), name);
  const critical = logs.find("CRITICAL");
  assert.match(critical[0]?.message ?? "", /cannot start/);
  assert.equal(critical.filter((l) => l.message.includes("misconfigured and did no work")).length, 2, "one per request");
}

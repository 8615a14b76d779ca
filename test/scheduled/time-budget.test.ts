// The time budget: infra passes each function its declared timeout (FUNCTION_TIMEOUT_SECONDS), every
// event (an orchestrator push, a scheduled run) runs inside a deadline derived from it, no retry
// starts that could not finish before it, and the retry plan of one event fits what each stack deploys.
import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Server } from "node:net";
import type { Server as HttpServer } from "node:http";
import { http } from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { parseRuntimeEnv, RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { functionRegistry } from "../../infra/function-registry.ts";
import { functionEnvironment } from "../../infra/function-env.ts";
import { createOrchestratorFromEnv } from "../../functions/lib/orchestrator-runtime.ts";
import { buildScheduledJob, createScheduledHandler } from "../../functions/scheduled/runtime.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import type { Alerter } from "../../functions/lib/slack.ts";
import { createHealthChecker } from "../../functions/lib/health.ts";
import {
  EVENT_RETRY_PLAN,
  eventBudgetMs,
  RETRY_PRESETS,
  setDefaultRetryRuntime,
  withRetry,
  worstCasePlanMs,
} from "../../functions/lib/retry.ts";
import { STACKS, stackModel } from "../infra/helpers.ts";
import { orchestratorEnv, phase2Message, pushEnvelope, PHASE2_CLASS_NAMES } from "../runtime/support.ts";
import { isolatedPipelineConfig, scheduledEnv } from "./support.ts";

const HASH = "b".repeat(64);

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let served = 0;
async function serve(handler: Parameters<typeof http>[1]): Promise<{ url: string; server: HttpServer }> {
  const name = `time-budget-${++served}`;
  http(name, handler);
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("time budget from the deployed timeout", function () {
  this.timeout(90_000);

  describe("infra -> runtime contract, every stack", () => {
    for (const stack of STACKS) {
      it(`${stack}: every function gets FUNCTION_TIMEOUT_SECONDS = its deployed timeout, and the runtime reads it`, () => {
        const { config, pipeline } = stackModel(stack);
        for (const spec of functionRegistry(pipeline)) {
          const env = functionEnvironment(spec, pipeline, config, HASH);
          assert.equal(env[RUNTIME_ENV_KEYS.functionTimeoutSeconds], String(config.functions.timeoutSeconds), spec.name);
          const rt = parseRuntimeEnv({ ...env, SLACK_WEBHOOK_URL: "https://hooks.slack.example/x" }, spec.transitionId === undefined ? "scheduled" : "orchestrator");
          assert.equal(rt.functionTimeoutSeconds, config.functions.timeoutSeconds);
        }
      });

      it(`${stack}: the worst case of one event's retry plan fits the event budget of the deployed timeout`, () => {
        const { config } = stackModel(stack);
        const worst = worstCasePlanMs(EVENT_RETRY_PLAN);
        const budget = eventBudgetMs(config.functions.timeoutSeconds * 1000);
        assert.ok(worst <= budget, `plan worst case ${worst} ms > budget ${budget} ms of a ${config.functions.timeoutSeconds} s timeout`);
      });
    }

    it("the plan does not fit the 60 s the runtime used to assume (why the budget must come from the deployed timeout)", () => {
      assert.ok(worstCasePlanMs(EVENT_RETRY_PLAN) > eventBudgetMs(60_000));
    });

    it("a missing or malformed FUNCTION_TIMEOUT_SECONDS is a start-up error naming it", () => {
      const env = scheduledEnv({ functionName: "phase-sweeper", projectId: "demo-test", bigqueryUrl: "http://127.0.0.1:1", prefix: "", pipeline: isolatedPipelineConfig() });
      for (const value of [undefined, "", "abc", "0", "3601", "1.5"]) {
        assert.throws(() => parseRuntimeEnv({ ...env, FUNCTION_TIMEOUT_SECONDS: value }, "scheduled"), /FUNCTION_TIMEOUT_SECONDS/, String(value));
      }
    });
  });

  describe("scheduled runs", () => {
    it("buildScheduledJob takes its run budget from FUNCTION_TIMEOUT_SECONDS", async () => {
      const env = scheduledEnv({ functionName: "phase-sweeper", projectId: "demo-test", bigqueryUrl: "http://127.0.0.1:1", prefix: "", pipeline: isolatedPipelineConfig() });
      const job = buildScheduledJob("sweeper", { ...env, FUNCTION_TIMEOUT_SECONDS: "123" }, captureLogs().logger);
      try {
        assert.equal(job.eventBudgetMs, eventBudgetMs(123_000));
      } finally {
        await job.close();
      }
    });

    it("a retry that cannot finish before the run's deadline is not started: the run answers 500 in time (fake clock)", async () => {
      // Sleeping advances a clock offset instantly; the retry's deadline checks read the same clock.
      let offset = 0;
      const restore = setDefaultRetryRuntime({
        now: () => Date.now() + offset,
        sleep: (ms) => {
          offset += ms;
          return Promise.resolve();
        },
        random: () => 0.999,
      });
      const servers: HttpServer[] = [];
      try {
        const attemptsFor = async (timeoutSeconds: number) => {
          const logs = captureLogs();
          let attempts = 0;
          const alerter = { alert: async () => ({ delivered: false, suppressed: false }) } as unknown as Alerter;
          const handler = createScheduledHandler({
            kind: "sweeper",
            functionName: "phase-sweeper",
            projectId: "p",
            health: createHealthChecker({ service: "phase-sweeper", version: HASH, checks: {}, logger: logs.logger }),
            alerter,
            logger: logs.logger,
            eventBudgetMs: eventBudgetMs(timeoutSeconds * 1000),
            run: () =>
              withRetry("firestore.readPhaseStates", async () => {
                attempts++;
                throw Object.assign(new Error("14 UNAVAILABLE: no connection"), { code: 14 });
              }, RETRY_PRESETS.firestoreWrite, { logger: logs.logger }),
          });
          const { url, server } = await serve(handler);
          servers.push(server);
          const res = await fetch(url, { method: "POST" });
          return { status: res.status, attempts };
        };
        // 3 s -> 2.7 s budget: the first retry (up to 1 s delay + a 2.5 s attempt) could not finish.
        assert.deepEqual(await attemptsFor(3), { status: 500, attempts: 1 });
        // 300 s: room for every attempt of the preset.
        assert.deepEqual(await attemptsFor(300), { status: 500, attempts: RETRY_PRESETS.firestoreWrite.attempts });
      } finally {
        restore();
        await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      }
    });
  });

  describe("orchestrator pushes", () => {
    it("a push whose stores hang answers 500 within the deadline of a short declared timeout, instead of running its 20 s transaction attempts", async () => {
      const [firestorePort, pubsubPort, bigqueryPort] = [await closedPort(), await closedPort(), await closedPort()];
      const env: Record<string, string> = {
        ...orchestratorEnv({
          transitionId: "phase2-to-phase3",
          projectId: "time-budget-test",
          firestoreHost: `127.0.0.1:${firestorePort}`,
          pubsubHost: `127.0.0.1:${pubsubPort}`,
          bigqueryUrl: `http://127.0.0.1:${bigqueryPort}`,
          firestorePrefix: "timebudget_",
        }),
        FUNCTION_TIMEOUT_SECONDS: "3",
      };
      const logs = captureLogs();
      // The Google clients read the emulator hosts from the process environment themselves.
      const saved = { firestore: process.env.FIRESTORE_EMULATOR_HOST, pubsub: process.env.PUBSUB_EMULATOR_HOST };
      process.env.FIRESTORE_EMULATOR_HOST = env["FIRESTORE_EMULATOR_HOST"];
      process.env.PUBSUB_EMULATOR_HOST = env["PUBSUB_EMULATOR_HOST"];
      const { url, server } = await serve(createOrchestratorFromEnv("phase2-to-phase3", env, logs.logger));
      try {
        const started = Date.now();
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(pushEnvelope(phase2Message(PHASE2_CLASS_NAMES[0], "2026-01-15"))),
        });
        const elapsed = Date.now() - started;
        assert.equal(res.status, 500, "non-2xx: Pub/Sub redelivers");
        // One Firestore transaction attempt alone is bounded by 20 s; the 2.7 s budget ends it far sooner.
        assert.ok(elapsed < 15_000, `answered after ${elapsed} ms`);
        assert.equal(logs.find("CRITICAL", "Firestore write failed and BigQuery is unreachable too").length, 1, JSON.stringify(logs.entries.map((e) => e.message)));
      } finally {
        for (const [key, value] of [["FIRESTORE_EMULATOR_HOST", saved.firestore], ["PUBSUB_EMULATOR_HOST", saved.pubsub]] as const) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});

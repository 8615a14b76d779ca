// The orchestrator's HTTP face (functions/lib/orchestrator.ts createOrchestratorHandler) in-process:
// every row of the response-code table in docs/RUNTIME.md, from a tracking result (or a quarantine
// outcome) to the status code, body, Slack alerts and the handler's own logs. The ports (tracker,
// quarantine, alerter, health) are stubs; the handler is served through the functions framework's
// test server, so requests go through the framework's body parsing as in production. The same
// situations against real emulators and faults are in store-faults, bad-input, outbox and health.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { http } from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { createOrchestratorHandler, type OrchestratorDeps } from "../../functions/lib/orchestrator.ts";
import { createOrchestratorFromEnv } from "../../functions/lib/orchestrator-runtime.ts";
import type { CompletionTracker, TrackResult } from "../../functions/lib/completion-tracker.ts";
import type { Quarantine, QuarantineRecord } from "../../functions/lib/quarantine.ts";
import type { HealthChecker, HealthResult } from "../../functions/lib/health.ts";
import type { Alert, Alerter, AlertResult } from "../../functions/lib/slack.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import type { Decision } from "../../functions/core/decision-types.ts";
import type { ResolvedCompletion } from "../../functions/core/phase-state.ts";
import { phase2Message, pushEnvelope } from "./support.ts";

const transition = transitionById(loadPipeline(), "phase2-to-phase3");
const DATE = "2026-01-15";

/** A port with only the methods a test gives it: calling any other fails the test by name. */
function port<T extends object>(name: string, impl: Partial<T>): T {
  return new Proxy(impl, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      if (typeof key === "symbol" || key === "then") return undefined;
      throw new Error(`unexpected call to ${name}.${key}`);
    },
  }) as T;
}

interface Harness {
  url: string;
  logs: LogCapture;
  alerts: Alert[];
  recorded: ResolvedCompletion[];
  quarantined: QuarantineRecord[];
}

interface Stubs {
  track?: (c: ResolvedCompletion) => Promise<TrackResult>;
  quarantinePut?: (r: QuarantineRecord) => Promise<string>;
  firstSighting?: () => Promise<boolean>;
  forgetSighting?: () => Promise<void>;
  health?: () => Promise<HealthResult>;
  alertResult?: AlertResult;
}

const decision = (over: Partial<Decision> = {}): Decision => ({
  trigger: false,
  reason: "waiting",
  mode: "same_day" as Decision["mode"],
  latchMode: "daily",
  expected: [],
  complete: [],
  missing: ["p2_x"],
  degraded: false,
  ...over,
});
const ok = { ok: true } as const;
const down = (what: string) => ({ ok: false as const, error: Object.assign(new Error(`${what} unavailable`), { code: 14 }) });

let served = 0;
const servers: Server[] = [];

async function start(stubs: Stubs = {}): Promise<Harness> {
  const logs = captureLogs();
  const alerts: Alert[] = [];
  const recorded: ResolvedCompletion[] = [];
  const quarantined: QuarantineRecord[] = [];
  const deps: OrchestratorDeps = {
    transition,
    functionName: "phase2-to-phase3-orchestrator",
    projectId: "handler-test",
    logger: logs.logger,
    tracker: port<CompletionTracker>("tracker", {
      record: async (c: ResolvedCompletion) => {
        recorded.push(c);
        if (stubs.track === undefined) throw new Error("this test expects no tracking");
        return stubs.track(c);
      },
    }),
    quarantine: port<Quarantine>("quarantine", {
      put: async (r: QuarantineRecord) => {
        quarantined.push(r);
        return stubs.quarantinePut ? stubs.quarantinePut(r) : `q-${quarantined.length}`;
      },
      ...(stubs.firstSighting ? { firstSightingOfUnknown: stubs.firstSighting } : {}),
      ...(stubs.forgetSighting ? { forgetSighting: stubs.forgetSighting } : {}),
    }),
    health: port<HealthChecker>("health", stubs.health ? { check: stubs.health } : {}),
    alerter: port<Alerter>("alerter", {
      alert: async (a: Alert) => {
        alerts.push(a);
        return stubs.alertResult ?? { delivered: true, suppressed: false };
      },
    }),
  };
  const name = `handler-test-${++served}`;
  http(name, createOrchestratorHandler(deps));
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs, alerts, recorded, quarantined };
}

async function push(h: Harness, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(h.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const completion = () => pushEnvelope(phase2Message("OddsGameLinesProcessor", DATE));

describe("orchestrator handler: the response-code table, in-process with stubbed ports", function () {
  // Generous: no timer is waited on; only a loaded machine makes these slow.
  this.timeout(60_000);
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it("recorded in both stores, no trigger due: 200 recorded, no alert", async () => {
    const h = await start({ track: async () => ({ firestore: ok, bigquery: ok, decision: decision(), trigger: null, done: true }) });
    const res = await push(h, completion());
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.status, res.body.firestore, res.body.bigquery, res.body.trigger], ["recorded", "ok", "ok", null]);
    assert.equal(h.recorded[0]?.gameDate, DATE);
    assert.equal(h.recorded[0]?.processor, "p2_odds_game_lines");
    assert.deepEqual(h.alerts, []);
  });

  it("trigger published on everything: 200 with the trigger, no alert", async () => {
    const h = await start({
      track: async () => ({
        firestore: ok,
        bigquery: ok,
        decision: decision({ trigger: true, reason: "all_complete", missing: [] }),
        trigger: { triggerId: "t-1", state: "published", publishedNow: true },
        done: true,
      }),
    });
    const res = await push(h, completion());
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.trigger, { trigger_id: "t-1", state: "published" });
    assert.deepEqual(h.alerts, []);
  });

  it("degraded trigger published (deadline, tier, majority): 200 and one warning alert naming the missing processors", async () => {
    const h = await start({
      track: async () => ({
        firestore: ok,
        bigquery: ok,
        decision: decision({ trigger: true, reason: "critical_plus_majority_60pct", missing: ["p2_late"], degraded: true }),
        trigger: { triggerId: "t-2", state: "published", publishedNow: true },
        done: true,
      }),
    });
    const res = await push(h, completion());
    assert.equal(res.status, 200);
    assert.equal(h.alerts.length, 1);
    assert.equal(h.alerts[0]?.severity, "warning");
    assert.deepEqual(h.alerts[0]?.details?.["missing"], ["p2_late"]);
  });

  it("redelivery of a recorded message: 200 recorded, firestore duplicate, no alert", async () => {
    const h = await start({ track: async () => ({ firestore: { ok: true, duplicate: true }, bigquery: ok, decision: decision(), trigger: null, done: true }) });
    const res = await push(h, completion());
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.status, res.body.firestore], ["recorded", "duplicate"]);
    assert.deepEqual(h.alerts, []);
  });

  it("recorded, another call's trigger still pending: 200 recorded, trigger pending, no alert", async () => {
    const h = await start({
      track: async () => ({
        firestore: ok,
        bigquery: ok,
        decision: decision({ trigger: true, reason: "all_complete" }),
        trigger: { triggerId: "t-3", state: "pending", publishedNow: false, owner: false },
        done: true,
      }),
    });
    const res = await push(h, completion());
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.status, res.body.trigger], ["recorded", { trigger_id: "t-3", state: "pending" }]);
    assert.deepEqual(h.alerts, []);
  });

  for (const [store, result] of [
    ["firestore", { firestore: down("firestore"), bigquery: ok }],
    ["bigquery", { firestore: ok, bigquery: down("bigquery") }],
  ] as const) {
    it(`${store} failed, the other store ok: 500 incomplete naming it, no Slack alert, a WARNING that Pub/Sub redelivers`, async () => {
      const h = await start({ track: async () => ({ ...result, decision: null, trigger: null, done: false }) });
      const res = await push(h, completion());
      assert.equal(res.status, 500);
      assert.equal(res.body.status, "incomplete");
      assert.equal(res.body[store], "failed");
      assert.deepEqual(h.alerts, []);
      assert.equal(h.logs.find("WARNING", "answering 500 so Pub/Sub redelivers").length, 1);
    });
  }

  it("both stores failed: 500 incomplete and one critical alert; an undeliverable alert changes nothing", async () => {
    for (const alertResult of [undefined, { delivered: false, suppressed: false, error: "slack down" }]) {
      const h = await start({
        alertResult,
        track: async () => ({ firestore: down("firestore"), bigquery: down("bigquery"), decision: null, trigger: null, done: false }),
      });
      const res = await push(h, completion());
      assert.equal(res.status, 500);
      assert.deepEqual([res.body.status, res.body.firestore, res.body.bigquery], ["incomplete", "failed", "failed"]);
      assert.deepEqual(h.alerts.map((a) => a.severity), ["critical"]);
      assert.equal(h.alerts[0]?.gameDate, DATE);
    }
  });

  it("trigger latched but its publish failed: 500 incomplete, trigger pending, one error alert", async () => {
    const h = await start({
      track: async () => ({
        firestore: ok,
        bigquery: ok,
        decision: decision({ trigger: true, reason: "all_complete" }),
        trigger: { triggerId: "t-4", state: "pending", publishedNow: false, error: new Error("publish refused"), failedStep: "publish" },
        done: false,
      }),
    });
    const res = await push(h, completion());
    assert.equal(res.status, 500);
    assert.deepEqual([res.body.status, res.body.trigger], ["incomplete", { trigger_id: "t-4", state: "pending" }]);
    assert.deepEqual(h.alerts.map((a) => a.severity), ["error"]);
    assert.match(h.alerts[0]?.title ?? "", /t-4 could not be published/);
  });

  it("bad input: quarantined with the raw body, 200 quarantined, ERROR message_quarantined, one error alert; never tracked", async () => {
    const h = await start();
    const body = pushEnvelope("{not json", { raw: true, messageId: "bad-1" });
    body.message = { ...(body.message as object), data: Buffer.from("{not json").toString("base64") };
    const res = await push(h, body);
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.status, res.body.reason, res.body.quarantine_id], ["quarantined", "bad_json", "q-1"]);
    assert.deepEqual(h.quarantined[0]?.rawBody, body);
    assert.equal(h.quarantined[0]?.messageId, "bad-1");
    assert.equal(h.logs.find("ERROR", "message quarantined (bad_json)").length, 1);
    assert.deepEqual(h.alerts.map((a) => a.severity), ["error"]);
    assert.deepEqual(h.recorded, []);
  });

  it("unknown processor: quarantined (200) and a warning alert on its first sighting only", async () => {
    let sightings = 0;
    const h = await start({ firstSighting: async () => ++sightings === 1 });
    for (let i = 0; i < 2; i++) {
      const res = await push(h, pushEnvelope(phase2Message("BrandNewProcessor", DATE)));
      assert.equal(res.status, 200);
      assert.deepEqual([res.body.status, res.body.reason], ["quarantined", "unknown_processor"]);
    }
    assert.deepEqual(
      h.alerts.map((a) => `${a.severity}:${a.errorType}`),
      ["warning:unknown_processor", "error:unknown_processor", "error:unknown_processor"],
    );
    assert.deepEqual(h.recorded, []);
  });

  it("bad input whose quarantine write fails: 500 error / quarantine_write_failed, one error alert that it could not be quarantined", async () => {
    const h = await start({ quarantinePut: async () => Promise.reject(new Error("firestore unavailable")) });
    const res = await push(h, { not: "an envelope" });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { status: "error", reason: "quarantine_write_failed" });
    assert.equal(h.quarantined.length, 1);
    assert.equal(h.logs.find("ERROR", "quarantine write failed").length, 1);
    // The write may have landed (a timed-out call), and then no redelivery is sure to alert it.
    assert.deepEqual(
      h.alerts.map((a) => [a.severity, a.subject.kind, /could not be quarantined/.test(a.title), typeof a.details?.quarantine_id]),
      [["error", "quarantine_write_failed", true, "string"]],
    );
  });

  it("an unexpected exception in the handler: 500 error / unhandled, ERROR, one error alert", async () => {
    const h = await start({ track: async () => Promise.reject(new TypeError("tracker bug")) });
    const res = await push(h, completion());
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { status: "error", reason: "unhandled" });
    assert.equal(h.logs.find("ERROR", "unhandled error").length, 1);
    assert.deepEqual(h.alerts.map((a) => a.severity), ["error"]);
  });

  it("a broken environment: every POST 500 and GET 503, misconfigured, CRITICAL each time, no alert", async () => {
    const logs = captureLogs();
    const name = `handler-test-${++served}`;
    http(name, createOrchestratorFromEnv(transition.id, { DEPLOY_ENV: "dev" }, logs.logger));
    const server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(completion()) });
    const get = await fetch(`${url}/health`);
    assert.deepEqual([post.status, get.status], [500, 503]);
    assert.equal(((await get.json()) as { status: string }).status, "misconfigured");
    assert.equal(logs.find("CRITICAL", "misconfigured and did no work").length, 2);
  });

  it("GET /health answers what the health checker says: 200 healthy, 503 degraded", async () => {
    for (const statusCode of [200, 503] as const) {
      const status = statusCode === 200 ? "healthy" : "degraded";
      const h = await start({ health: async () => ({ statusCode, body: { status } as HealthResult["body"] }) });
      const res = await fetch(`${h.url}/health`);
      assert.equal(res.status, statusCode);
      assert.equal(((await res.json()) as { status: string }).status, status);
    }
  });

  it("other methods: 405, nothing tracked", async () => {
    const h = await start();
    for (const method of ["PUT", "DELETE", "PATCH"]) assert.equal((await fetch(h.url, { method })).status, 405, method);
    assert.equal((await fetch(h.url)).status, 405, "GET of anything but /health");
    assert.deepEqual(h.recorded, []);
  });
});

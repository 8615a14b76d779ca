import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BigQuery } from "@google-cloud/bigquery";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { captureLogs } from "../../functions/lib/logger.ts";
import { checkOnFirstUse } from "../../functions/lib/lazy-clients.ts";
import { bigqueryCheck, createHealthChecker, firestoreCheck, pubsubPublishCheck, type DependencyCheck } from "../../functions/lib/health.ts";
import { PUBSUB_PUBLISH } from "../../functions/core/permissions.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { startIamProxy, type IamProxy } from "../harness/iam-proxy.ts";
import { pubsubAt } from "../../tools/emulators/clients.ts";
import { firestoreVia } from "./firestore-via.ts";

const ok: DependencyCheck = () => Promise.resolve();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("health: checker logic", () => {
  it("200 healthy with the documented body when every check passes", async () => {
    const checker = createHealthChecker({ service: "phase2-to-phase3-orchestrator", version: "hash1", checks: { firestore: ok, pubsub: ok } });
    const { statusCode, body } = await checker.check();
    assert.equal(statusCode, 200);
    assert.equal(body.status, "healthy");
    assert.equal(body.service, "phase2-to-phase3-orchestrator");
    assert.equal(body.version, "hash1");
    assert.deepEqual(Object.keys(body.dependencies).sort(), ["firestore", "pubsub"]);
    assert.equal(body.dependencies["firestore"]?.healthy, true);
    assert.equal(typeof body.dependencies["firestore"]?.latency_ms, "number");
    assert.equal(body.cached, false);
    assert.equal(body.cache_age_seconds, 0);
    assert.ok(!Number.isNaN(Date.parse(body.checked_at)));
    assert.equal(typeof body.uptime_seconds, "number");
  });

  it("503 degraded naming the failing dependency and its error; logged at WARNING", async () => {
    const cap = captureLogs();
    const failing: DependencyCheck = () => Promise.reject(Object.assign(new Error("7 PERMISSION_DENIED: nope"), { code: 7 }));
    const checker = createHealthChecker({ service: "s", version: "v", checks: { firestore: failing, pubsub: ok }, logger: cap.logger });
    const { statusCode, body } = await checker.check();
    assert.equal(statusCode, 503);
    assert.equal(body.status, "degraded");
    assert.equal(body.dependencies["firestore"]?.healthy, false);
    assert.match(body.dependencies["firestore"]?.error ?? "", /grpc:PERMISSION_DENIED/);
    assert.equal(body.dependencies["pubsub"]?.healthy, true);
    assert.equal(cap.find("WARNING", "health degraded: firestore").length, 1);
  });

  it("a hung check is cut at timeoutMs and aborted; checks run in parallel", async () => {
    let aborted = false;
    // Parallel is shown by what overlapped, not by a wall-clock bound: every check is started before
    // any has finished (the hung one never finishes on its own).
    let started = 0;
    let startedBeforeFirstFinish = 0;
    const hung: DependencyCheck = (signal) => {
      started++;
      return new Promise((resolve) => signal.addEventListener("abort", () => { aborted = true; resolve(undefined); }));
    };
    const slow: DependencyCheck = async () => {
      started++;
      await sleep(20);
      if (startedBeforeFirstFinish === 0) startedBeforeFirstFinish = started;
    };
    const checker = createHealthChecker({ service: "s", version: "v", timeoutMs: 100, checks: { a: hung, b: slow, c: slow } });
    const { statusCode, body } = await checker.check();
    assert.equal(statusCode, 503);
    assert.match(body.dependencies["a"]?.error ?? "", /timed out after 100 ms/);
    assert.equal(body.dependencies["b"]?.healthy, true);
    assert.equal(aborted, true);
    assert.equal(startedBeforeFirstFinish, 3, "all three checks were running at once");
  });

  it("a check's preparation (a client library loading on a cold instance) is outside its time bound; a failed one is reported", async () => {
    let created = 0;
    const lazy = checkOnFirstUse(async () => {
      created++;
      await sleep(150); // longer than the 100 ms bound
      return async () => undefined;
    });
    const broken = checkOnFirstUse(async () => {
      throw new Error("library failed to load");
    });
    const checker = createHealthChecker({ service: "s", version: "v", timeoutMs: 100, checks: { lazy, broken } });
    const { statusCode, body } = await checker.check();
    assert.equal(body.dependencies["lazy"]?.healthy, true, JSON.stringify(body.dependencies["lazy"]));
    assert.equal(created, 1);
    assert.equal(statusCode, 503);
    assert.match(body.dependencies["broken"]?.error ?? "", /library failed to load/);
  });

  it("caches the result for 30 s (injected clock), then checks again", async () => {
    let t = 1_700_000_000_000;
    let calls = 0;
    let healthy = true;
    const counted: DependencyCheck = () => (calls++, healthy ? Promise.resolve() : Promise.reject(new Error("down")));
    const checker = createHealthChecker({ service: "s", version: "v", checks: { db: counted }, now: () => t });
    assert.equal((await checker.check()).statusCode, 200);
    healthy = false;
    t += 29_000;
    const cached = await checker.check();
    assert.equal(cached.statusCode, 200);
    assert.equal(cached.body.cached, true);
    assert.equal(cached.body.cache_age_seconds, 29);
    assert.equal(cached.body.uptime_seconds, 29);
    assert.equal(calls, 1);
    t += 1_000;
    const fresh = await checker.check();
    assert.equal(fresh.statusCode, 503);
    assert.equal(fresh.body.cached, false);
    assert.equal(calls, 2);
  });

  it("concurrent calls while a check runs share it", async () => {
    let calls = 0;
    const slow: DependencyCheck = async () => {
      calls++;
      await sleep(30);
    };
    const checker = createHealthChecker({ service: "s", version: "v", checks: { db: slow }, cacheTtlMs: 0 });
    const results = await Promise.all([checker.check(), checker.check(), checker.check()]);
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r.statusCode === 200));
  });
});

/** A minimal BigQuery v2 endpoint: GET dataset answers 200 for `known`, 404 otherwise. */
async function startFakeBigQuery(known: string) {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    const m = /\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/?]+)/.exec(req.url ?? "");
    res.setHeader("content-type", "application/json");
    if (req.method === "GET" && m?.[2] === known) {
      res.end(JSON.stringify({ kind: "bigquery#dataset", id: `${m[1]}:${known}`, datasetReference: { projectId: m[1], datasetId: known } }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 404, message: "Not found: Dataset", errors: [{ reason: "notFound", message: "Not found" }] } }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, paths, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("health: real emulators", function () {
  this.timeout(60_000);
  let projectId: string;
  let db: Firestore;
  let pubsub: PubSub;
  let topicName: string;
  let bq: Awaited<ReturnType<typeof startFakeBigQuery>>;

  before(async () => {
    projectId = sharedEmulators().projectId;
    db = new Firestore({ projectId });
    pubsub = new PubSub({ projectId });
    topicName = uniqueName("health-topic");
    await pubsub.createTopic(topicName);
    bq = await startFakeBigQuery("nba_orchestration");
  });
  after(async () => {
    await db.terminate();
    await pubsub.close();
    await bq.close();
  });

  it("200 when Firestore, Pub/Sub and BigQuery answer", async () => {
    const bigquery = new BigQuery({ projectId, apiEndpoint: bq.endpoint });
    const checker = createHealthChecker({
      service: "phase2-to-phase3-orchestrator",
      version: "hash1",
      checks: {
        firestore: firestoreCheck(db),
        pubsub: pubsubPublishCheck(pubsub, topicName),
        bigquery: bigqueryCheck(bigquery, "nba_orchestration"),
      },
    });
    const { statusCode, body } = await checker.check();
    assert.equal(statusCode, 200, JSON.stringify(body.dependencies));
    assert.ok(bq.paths.some((p) => p.startsWith("GET /bigquery/v2/projects/demo-test/datasets/nba_orchestration")));
  });

  it("503 when the Pub/Sub topic or the BigQuery dataset is missing", async () => {
    const bigquery = new BigQuery({ projectId, apiEndpoint: bq.endpoint });
    const checker = createHealthChecker({
      service: "s",
      version: "v",
      checks: { pubsub: pubsubPublishCheck(pubsub, uniqueName("no-such-topic")), bigquery: bigqueryCheck(bigquery, "missing") },
    });
    const { statusCode, body } = await checker.check();
    assert.equal(statusCode, 503);
    assert.match(body.dependencies["pubsub"]?.error ?? "", /NOT_FOUND/);
    assert.match(body.dependencies["bigquery"]?.error ?? "", /bigquery:notFound/);
  });

  it("plain emulator (no IAM): the Pub/Sub check falls back to the topic's existence, logged once at INFO", async () => {
    const cap = captureLogs();
    const check = pubsubPublishCheck(pubsub, topicName, cap.logger);
    await check(new AbortController().signal);
    await check(new AbortController().signal);
    assert.equal(cap.find("INFO", "health: the Pub/Sub emulator has no IAM").length, 1);
  });

  it("the fallback is for emulator mode only: a client not in emulator mode that gets UNIMPLEMENTED fails the check", async () => {
    const notEmulator = new PubSub({ projectId });
    notEmulator.isEmulator = false; // same channel to the emulator, but the client no longer says it is one
    try {
      const checker = createHealthChecker({ service: "s", version: "v", checks: { pubsub: pubsubPublishCheck(notEmulator, topicName) } });
      const { statusCode, body } = await checker.check();
      assert.equal(statusCode, 503);
      assert.match(body.dependencies["pubsub"]?.error ?? "", /UNIMPLEMENTED/);
    } finally {
      await notEmulator.close();
    }
  });

  describe("Pub/Sub behind the IAM proxy (permissions enforced as in the cloud)", () => {
    let iam: IamProxy;
    let viaIam: PubSub;
    before(async () => {
      iam = await startIamProxy({ target: sharedEmulators().pubsub.host, grants: [] });
      viaIam = pubsubAt(iam.host, projectId);
    });
    after(async () => {
      await viaIam.close();
      await iam.close();
    });
    const topicPath = () => `projects/${projectId}/topics/${topicName}`;

    it("200 with roles/pubsub.publisher's permission on the topic: asks IAM (TestIamPermissions), never reads the topic's metadata", async () => {
      iam.setGrants([{ resource: topicPath(), permissions: [PUBSUB_PUBLISH] }]);
      const before = iam.calls.length;
      const { statusCode, body } = await createHealthChecker({ service: "s", version: "v", checks: { pubsub: pubsubPublishCheck(viaIam, topicName) } }).check();
      assert.equal(statusCode, 200, JSON.stringify(body.dependencies));
      const calls = iam.calls.slice(before);
      assert.deepEqual(calls.map((c) => c.method), ["/google.iam.v1.IAMPolicy/TestIamPermissions"]);
      assert.deepEqual(calls[0]?.checks, [{ permission: PUBSUB_PUBLISH, resource: topicPath(), held: true }]);
    });

    it("the metadata check it replaces is refused with the same grant (topics.get is not in roles/pubsub.publisher)", async () => {
      iam.setGrants([{ resource: topicPath(), permissions: [PUBSUB_PUBLISH] }]);
      await assert.rejects(viaIam.topic(topicName).getMetadata(), (err: { code?: number }) => err.code === 7);
    });

    it("503 naming the permission when it is not held (granted on another topic only)", async () => {
      iam.setGrants([{ resource: `projects/${projectId}/topics/${uniqueName("elsewhere")}`, permissions: [PUBSUB_PUBLISH] }]);
      const { statusCode, body } = await createHealthChecker({ service: "s", version: "v", checks: { pubsub: pubsubPublishCheck(viaIam, topicName) } }).check();
      assert.equal(statusCode, 503);
      assert.ok(body.dependencies["pubsub"]?.error?.endsWith(`${PUBSUB_PUBLISH} is not held on ${topicPath()}`), body.dependencies["pubsub"]?.error);
    });
  });

  describe("Firestore unreachable (refused TCP proxy)", () => {
    let proxy: TcpProxy;
    let viaProxy: Firestore;
    before(async () => {
      proxy = await startTcpProxy(sharedEmulators().firestore.host);
      viaProxy = firestoreVia(proxy.port, projectId);
    });
    after(async () => {
      proxy.setMode("pass");
      await viaProxy.terminate();
      await proxy.close();
    });

    it("200 through the proxy, 503 with the error while it refuses, 200 again after the cache expires and it heals", async function () {
      this.timeout(180_000);
      let t = 1_700_000_000_000;
      // A bound a healthy read never reaches on a loaded machine; a refused one always does (the client waits).
      const checker = createHealthChecker({ service: "s", version: "v", timeoutMs: 10_000, checks: { firestore: firestoreCheck(viaProxy) }, now: () => t });
      assert.equal((await checker.check()).statusCode, 200);
      assert.ok(proxy.acceptedConnections >= 1, "the client really went through the proxy");

      proxy.setMode("refuse");
      t += 30_000;
      const down = await checker.check();
      assert.equal(down.statusCode, 503);
      assert.equal(down.body.dependencies["firestore"]?.healthy, false);
      assert.ok(down.body.dependencies["firestore"]?.error, "the error is reported");

      proxy.setMode("pass");
      t += 10_000;
      assert.equal((await checker.check()).statusCode, 503, "still the cached degraded result");
      t += 20_000;
      let healed = await checker.check();
      // The gRPC channel may still be in its reconnect backoff right after the heal: check again (each
      // time past the cache) until it answers, bounded only against a hang.
      const healing = Date.now();
      while (healed.statusCode !== 200 && Date.now() - healing < 60_000) {
        await sleep(500);
        t += 30_000;
        healed = await checker.check();
      }
      assert.equal(healed.statusCode, 200, JSON.stringify(healed.body.dependencies));
    });
  });
});

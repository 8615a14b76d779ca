// Clients created on first use: once, shared by concurrent first calls, retried after a failed
// creation (whose error reaches the caller); and the orchestrator's wiring loads neither Pub/Sub nor
// BigQuery until a request needs them (what makes its cold start shorter).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { checkOnFirstUse, onFirstUse, publisherOnFirstUse, storeOnFirstUse } from "../../functions/lib/lazy-clients.ts";
import type { BigQueryStore } from "../../functions/lib/bigquery-store.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

describe("lazy clients", () => {
  it("creates on the first call only, once for concurrent first calls", async () => {
    let created = 0;
    const get = onFirstUse(async () => {
      created += 1;
      await new Promise((r) => setTimeout(r, 10));
      return { id: created };
    });
    assert.equal(created, 0, "nothing before the first use");
    const [a, b] = await Promise.all([get(), get()]);
    assert.equal(created, 1);
    assert.equal(a, b);
    assert.equal(await get(), a);
  });

  it("a failed creation reaches its caller and is tried again on the next call", async () => {
    let attempts = 0;
    const get = onFirstUse(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("cannot load");
      return "client";
    });
    await assert.rejects(get(), /cannot load/);
    assert.equal(await get(), "client");
    assert.equal(attempts, 2);
  });

  it("publisher, check and store forward every call to the client made on first use", async () => {
    const calls: string[] = [];
    let made = 0;
    const publisher = publisherOnFirstUse(async () => {
      made += 1;
      return { publish: async (topic, payload, attrs) => (calls.push(`publish ${topic} ${JSON.stringify(payload)} ${attrs.a}`), "m1") };
    });
    assert.equal(made, 0);
    assert.equal(await publisher.publish("t", { x: 1 }, { a: "b" }), "m1");
    assert.equal(await publisher.publish("t", { x: 2 }, { a: "c" }), "m1");
    assert.equal(made, 1);

    const check = checkOnFirstUse(async () => async () => calls.push("check"));
    await check(AbortSignal.timeout(1000));

    const store = storeOnFirstUse(async () => ({
      insertCompletion: async () => (calls.push("insertCompletion"), { insertId: "i" }),
      upsertStatus: async () => void calls.push("upsertStatus"),
      insertExecutionLog: async () => (calls.push("insertExecutionLog"), { insertId: "e" }),
      listCompletions: async () => (calls.push("listCompletions"), []),
      checkDataset: async () => void calls.push("checkDataset"),
    }) as BigQueryStore);
    assert.deepEqual(await store.insertCompletion({} as never), { insertId: "i" });
    await store.upsertStatus({} as never);
    assert.deepEqual(await store.insertExecutionLog({} as never), { insertId: "e" });
    assert.deepEqual(await store.listCompletions({ fromDate: "2026-01-01", toDate: "2026-01-02" }), []);
    await store.checkDataset();
    assert.deepEqual(calls, ["publish t {\"x\":1} b", "publish t {\"x\":2} c", "check", "insertCompletion", "upsertStatus", "insertExecutionLog", "listCompletions", "checkDataset"]);
  });

  it("building an orchestrator loads neither @google-cloud/pubsub nor @google-cloud/bigquery", async function () {
    this.timeout(60_000);
    const script = `
      import { createRequire } from "node:module";
      import { createOrchestratorFromEnv } from "./functions/lib/orchestrator-runtime.ts";
      import { orchestratorEnv } from "./test/runtime/support.ts";
      const env = orchestratorEnv({ transitionId: "phase2-to-phase3", projectId: "demo-lazy", firestoreHost: "127.0.0.1:1", pubsubHost: "127.0.0.1:1", bigqueryUrl: "http://127.0.0.1:1" });
      const lines = [];
      createOrchestratorFromEnv("phase2-to-phase3", env);
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({
        firestore: loaded.some((k) => k.includes("/@google-cloud/firestore/")),
        pubsub: loaded.some((k) => k.includes("/@google-cloud/pubsub/")),
        bigquery: loaded.some((k) => k.includes("/@google-cloud/bigquery/")),
      }));
      process.exit(0);
    `;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "error" } });
    const loaded = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, boolean>;
    assert.deepEqual(loaded, { firestore: true, pubsub: false, bigquery: false });
  });
});

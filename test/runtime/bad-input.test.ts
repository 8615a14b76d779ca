// Every kind of bad input through the real functions framework: ERROR log naming every field error,
// a quarantine document holding the raw push body, an alert, and 2xx (the message is safe, so Pub/Sub
// must not redeliver it). Unknown processors are alerted once, across instances.
import assert from "node:assert/strict";
import { Firestore, Timestamp } from "@google-cloud/firestore";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startBigQueryFake, provisionOrchestrationTables, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { LOG_EVENTS } from "../../functions/core/log-events.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../../functions/core/contracts.ts";
import { safeDocId } from "../../functions/core/doc-ids.ts";
import { RETENTION_DEFAULTS } from "../../functions/core/retention.ts";
import {
  collectionPrefix,
  loggedEvents,
  orchestratorEnv,
  orchestratorSource,
  phase2Message,
  postJson,
  pushEnvelope,
  startFunctionProcess,
  startSlackSink,
  TEST_DATASET,
  type FunctionProcess,
  type SlackSink,
} from "./support.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");

interface BadCase {
  name: string;
  envelope: Record<string, unknown>;
  reason: string;
  /** Every field error the log and the quarantine document must name. */
  paths: string[];
}

const CASES: BadCase[] = [
  { name: "bad base64", envelope: pushEnvelope("this is *not* base64!", { raw: true }), reason: "bad_base64", paths: ["message.data"] },
  { name: "bad JSON", envelope: pushEnvelope(b64('{"processor_name": "OddsGameLinesProcessor", '), { raw: true }), reason: "bad_json", paths: ["message.data"] },
  {
    name: "schema violations (several fields at once)",
    envelope: pushEnvelope({ processor_name: "OddsGameLinesProcessor", phase: "phase_2_raw", status: "done", record_count: -3, timestamp: "yesterday" }),
    reason: "required",
    paths: ["execution_id", "correlation_id", "game_date", "status", "record_count", "timestamp"],
  },
  {
    name: "unknown phase",
    envelope: pushEnvelope(phase2Message("OddsGameLinesProcessor", "2026-01-15", { phase: "phase_9_magic" })),
    reason: "wrong_phase",
    paths: ["phase"],
  },
  {
    name: "impossible date 2026-02-30",
    envelope: pushEnvelope(phase2Message("OddsGameLinesProcessor", "2026-02-30")),
    reason: "invalid_format",
    paths: ["game_date"],
  },
  {
    name: "oversized data",
    envelope: pushEnvelope(phase2Message("OddsGameLinesProcessor", "2026-01-15", { metadata: { blob: "x".repeat(DEFAULT_MAX_MESSAGE_BYTES) } })),
    reason: "oversize",
    paths: ["message.data"],
  },
];

describe("bad input is quarantined, logged, alerted and acknowledged (end to end)", function () {
  // A hang guard: each test starts function processes, slow to load on a busy machine.
  this.timeout(180_000);
  let bq: BigQueryFake;
  let slack: SlackSink;
  let db: Firestore;
  const fns: FunctionProcess[] = [];
  const prefix = collectionPrefix("bad");

  async function start(): Promise<FunctionProcess> {
    const { projectId, firestore, pubsub } = sharedEmulators();
    const fn = await startFunctionProcess({
      source: orchestratorSource("phase2-to-phase3"),
      target: "orchestrate",
      env: orchestratorEnv({
        transitionId: "phase2-to-phase3",
        projectId,
        firestoreHost: firestore.host,
        pubsubHost: pubsub.host,
        bigqueryUrl: bq.url,
        slackUrl: slack.url,
        firestorePrefix: prefix,
      }),
    });
    fns.push(fn);
    return fn;
  }

  before(async () => {
    const { projectId } = sharedEmulators();
    bq = await startBigQueryFake({ projectId });
    await provisionOrchestrationTables(createBigQueryClient({ projectId, apiEndpoint: bq.url }), TEST_DATASET);
    slack = await startSlackSink();
    db = new Firestore({ projectId });
    await start();
  });
  after(async () => {
    await Promise.all(fns.map((f) => f.stop()));
    await db.terminate();
    await bq.stop();
    await slack.close();
  });

  const quarantineDoc = async (messageId: string) =>
    (await db.collection(`${prefix}quarantine`).doc(safeDocId(`phase2-to-phase3__${messageId}`)).get()).data();

  for (const c of CASES) {
    it(`${c.name}: ERROR naming every field error, quarantine doc with the raw body, alert, 200`, async () => {
      const fn = fns[0]!;
      fn.logs.length = 0;
      const alertsBefore = slack.received.length;
      const messageId = (c.envelope.message as { messageId: string }).messageId;
      const r = await postJson(fn.url, c.envelope);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.status, r.body.reason], ["quarantined", c.reason]);

      const [logged, ...more] = loggedEvents(fn, LOG_EVENTS.messageQuarantined);
      assert.equal(more.length, 0);
      assert.equal(logged?.severity, "ERROR");
      assert.equal(logged?.reason, c.reason);
      const loggedPaths = (logged?.field_errors as { path: string }[]).map((e) => e.path);
      for (const path of c.paths) {
        assert.ok(loggedPaths.includes(path), `log names ${path}: ${JSON.stringify(logged?.field_errors)}`);
        assert.ok(String(logged?.message).includes(`${path}:`), `message names ${path}`);
      }

      const doc = await quarantineDoc(messageId);
      assert.ok(doc, "quarantine document stored");
      assert.equal(doc.raw_body, JSON.stringify(c.envelope));
      assert.equal(doc.reason, c.reason);
      assert.deepEqual(
        c.paths.filter((p) => !(doc.errors as { path: string }[]).some((e) => e.path === p)),
        [],
        "every field error kept",
      );

      assert.equal(slack.received.length, alertsBefore + 1);
      const alert = String(slack.received.at(-1)?.text);
      assert.match(alert, /Message quarantined by phase2-to-phase3-orchestrator/);
      assert.ok(alert.includes(`*Error type:* ${c.reason}`), alert);
      assert.equal(bq.rows("phase_completions").length, 0, "nothing counted");
    });
  }

  it("unknown processor: both messages quarantined and never counted; alerted once across two instances", async () => {
    const second = await start();
    const first = fns[0]!;
    const unknownAlerts = () => slack.received.filter((a) => String(a.text).includes('Unknown processor "MysteryTableProcessor"'));
    const m1 = pushEnvelope(phase2Message("MysteryTableProcessor", "2026-01-15"));
    const m2 = pushEnvelope(phase2Message("MysteryTableProcessor", "2026-01-16"));
    const r1 = await postJson(first.url, m1);
    const r2 = await postJson(second.url, m2);
    assert.deepEqual([r1.status, r2.status], [200, 200]);
    assert.deepEqual([r1.body.reason, r2.body.reason], ["unknown_processor", "unknown_processor"]);
    assert.equal(unknownAlerts().length, 1);
    for (const m of [m1, m2]) assert.ok(await quarantineDoc((m.message as { messageId: string }).messageId));
    const sighting = await db.collection(`${prefix}unknown_processors`).doc("phase2-to-phase3__MysteryTableProcessor").get();
    assert.ok(sighting.exists);
    assert.equal((await db.collection(`${prefix}phase_state`).get()).size, 0);
    assert.equal(bq.rows("phase_completions").length, 0);
  });

  it('a processor name with "/" ("a/b") is quarantined and answered 200 (its first-sighting id is escaped), alerted once', async () => {
    const fn = fns[0]!;
    const sightings = () => slack.received.filter((a) => String(a.text).includes('Unknown processor "a/b"'));
    const m1 = pushEnvelope(phase2Message("a/b", "2026-01-15"));
    const m2 = pushEnvelope(phase2Message("a/b", "2026-01-16"));
    const r1 = await postJson(fn.url, m1);
    const r2 = await postJson(fn.url, m2);
    assert.deepEqual([r1.status, r2.status], [200, 200], JSON.stringify([r1.body, r2.body]));
    assert.deepEqual([r1.body.status, r1.body.reason], ["quarantined", "unknown_processor"]);
    for (const m of [m1, m2]) assert.ok(await quarantineDoc((m.message as { messageId: string }).messageId));
    assert.equal(sightings().length, 1);
    const sighting = await db.collection(`${prefix}unknown_processors`).doc(safeDocId("phase2-to-phase3__a/b")).get();
    assert.equal(sighting.get("reported_name"), "a/b");
  });

  it('a message id with "/" and ".." keeps its quarantine document under an escaped id', async () => {
    const fn = fns[0]!;
    for (const messageId of ["x/y", ".."]) {
      const m = pushEnvelope("not base64 at all!", { raw: true, messageId });
      const r = await postJson(fn.url, m);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.quarantine_id, safeDocId(`phase2-to-phase3__${messageId}`));
      assert.equal((await quarantineDoc(messageId))?.message_id, messageId);
    }
  });

  it("quarantine documents and first sightings carry an expire_at timestamp for the TTL policy", async () => {
    const fn = fns[0]!;
    const m = pushEnvelope(phase2Message("ExpiringProcessor", "2026-01-15"));
    const before = Date.now();
    assert.equal((await postJson(fn.url, m)).status, 200);
    const q = await db.collection(`${prefix}quarantine`).doc(safeDocId(`phase2-to-phase3__${(m.message as { messageId: string }).messageId}`)).get();
    const s = await db.collection(`${prefix}unknown_processors`).doc("phase2-to-phase3__ExpiringProcessor").get();
    const DAY = 86_400_000;
    for (const [doc, days] of [[q, RETENTION_DEFAULTS.quarantine], [s, RETENTION_DEFAULTS.bookkeeping]] as const) {
      const expireAt = doc.get("expire_at") as unknown;
      assert.ok(expireAt instanceof Timestamp, `${doc.ref.path}: expire_at is a Firestore timestamp (TTL needs one)`);
      const ms = expireAt.toMillis();
      // Generous bounds: written while this test ran, `days` later.
      assert.ok(ms >= before + days * DAY - 60_000 && ms <= Date.now() + days * DAY + 60_000, `${doc.ref.path}: ${expireAt.toDate().toISOString()}`);
    }
  });

  it("an unknown-processor alert Slack could not take is not lost: the sighting is released and the next message alerts", async () => {
    const fn = fns[0]!;
    const alerts = () => slack.received.filter((a) => String(a.text).includes('Unknown processor "FlakySlackProcessor"'));
    const sightingRef = db.collection(`${prefix}unknown_processors`).doc("phase2-to-phase3__FlakySlackProcessor");
    slack.respondWith(503);
    try {
      const r1 = await postJson(fn.url, pushEnvelope(phase2Message("FlakySlackProcessor", "2026-01-15")));
      assert.equal(r1.status, 200, "quarantined: the message is safe whatever Slack says");
      assert.equal(alerts().length, 0);
      assert.ok(
        fn.logs.some((l) => l.severity === "ERROR" && String(l.message).includes("alert not delivered") && String(l.message).includes('Unknown processor "FlakySlackProcessor"')),
        "the undelivered alert is logged at ERROR",
      );
      assert.equal((await sightingRef.get()).exists, false, "not delivered: the sighting was released");
    } finally {
      slack.respondWith(200);
    }
    const r2 = await postJson(fn.url, pushEnvelope(phase2Message("FlakySlackProcessor", "2026-01-16")));
    assert.equal(r2.status, 200);
    assert.equal(alerts().length, 1, "the next message alerts (delivered)");
    assert.equal((await sightingRef.get()).exists, true);
    const r3 = await postJson(fn.url, pushEnvelope(phase2Message("FlakySlackProcessor", "2026-01-17")));
    assert.equal(r3.status, 200);
    assert.equal(alerts().length, 1, "and only once");
  });
});

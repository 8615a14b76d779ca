// Alert claims against the real Firestore emulator behind a fault-injecting TCP proxy. The fault is
// the one a plain create() cannot tell from "someone else alerted": the claim's write lands, its
// answer is lost (the proxy drops the replies, then resets the connection), and the retry meets
// ALREADY_EXISTS. The claim id stored with the record makes that retry a success, so the alert is
// sent, exactly once, while any other claimer still sees "already claimed".
import assert from "node:assert/strict";
import { Firestore, Timestamp } from "@google-cloud/firestore";
import { resolvePipeline } from "../../functions/core/pipeline.ts";
import { phaseStateDocId } from "../../functions/core/phase-state.ts";
import { RETENTION_DEFAULTS } from "../../functions/core/retention.ts";
import { stallAlertId } from "../../functions/core/sweep-rules.ts";
import { createAlertLedger, type AlertLedger } from "../../functions/lib/alert-ledger.ts";
import { createTriggerDeduper } from "../../functions/lib/trigger-dedupe.ts";
import { createBreaker } from "../../functions/lib/circuit-breaker.ts";
import { captureLogs, type LogCapture } from "../../functions/lib/logger.ts";
import { createPhaseStateTransactions } from "../../functions/lib/phase-state-transactions.ts";
import type { Alert, Alerter } from "../../functions/lib/slack.ts";
import { createSweeper } from "../../functions/lib/sweeper.ts";
import { firestoreAt } from "../../tools/emulators/clients.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { waitFor } from "../runtime/support.ts";
import { completion, docWith, isolatedPipelineConfig, MINUTE, transitionOf, uniquePrefix } from "../scheduled/support.ts";

const DAY = 86_400_000;
/** Long enough that the lost-answer attempt is still waiting when the test heals the network. */
const PATIENT_ATTEMPT_MS = 120_000;

describe("alert ledger: claims survive a lost answer (Firestore emulator behind a TCP proxy)", function () {
  this.timeout(180_000);
  let proxy: TcpProxy;
  let viaProxy: Firestore;
  let direct: Firestore;
  let logs: LogCapture;
  let collection: string;

  before(async () => {
    const { firestore, projectId } = sharedEmulators();
    proxy = await startTcpProxy(firestore.host);
    viaProxy = firestoreAt(proxy.host, projectId);
    direct = new Firestore({ projectId });
  });
  beforeEach(async () => {
    proxy.setMode("pass");
    logs = captureLogs();
    collection = `${uniquePrefix()}stall_alerts`;
    // One round trip so the client holds an open connection through the proxy before the fault.
    await viaProxy.collection(collection).doc("warm-up").get();
  });
  after(async () => {
    await viaProxy.terminate();
    await direct.terminate();
    await proxy.close();
  });

  function ledger(db: Firestore): AlertLedger {
    return createAlertLedger({
      db,
      collection,
      breaker: createBreaker(uniqueName("ledger"), { logger: logs.logger }),
      logger: logs.logger,
      attemptTimeoutMs: PATIENT_ATTEMPT_MS,
    });
  }

  /** Runs `claiming` with the replies dropped until the record exists, then resets and heals. */
  async function withLostAnswer<T>(id: string, claiming: () => Promise<T>): Promise<T> {
    const settled = await settledWithLostAnswer(id, claiming);
    if ("error" in settled) throw settled.error;
    return settled.value;
  }

  async function settledWithLostAnswer<T>(id: string, claiming: () => Promise<T>): Promise<{ value: T } | { error: unknown }> {
    proxy.setMode("drop-replies");
    const pending = claiming();
    const outcome = pending.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    try {
      await waitFor("the claim to land in Firestore", async () => (await direct.collection(collection).doc(id).get()).exists, PATIENT_ATTEMPT_MS / 2);
    } finally {
      // The answer was lost on the way back: the connection dies, the network heals.
      proxy.setMode("reset");
      proxy.setMode("pass");
    }
    return outcome;
  }

  it("a claim whose write landed but whose answer was lost is still this caller's; another claimer is refused", async () => {
    const id = "stall__phase2-to-phase3__2026-01-15__daily";
    const now = new Date("2026-01-16T08:00:00.000Z");
    const claimed = await withLostAnswer(id, () => ledger(viaProxy).claim(id, { doc_id: "d" }, now));
    assert.equal(claimed, true, "the caller whose write landed owns the claim");
    assert.equal(logs.find("INFO", "was claimed by this call's earlier attempt").length, 1, "the retry really met ALREADY_EXISTS");

    assert.equal(await ledger(direct).claim(id, { doc_id: "d" }, now), false, "a different claimer sees it claimed");
    const stored = await direct.collection(collection).doc(id).get();
    assert.equal(typeof stored.get("claim_id"), "string");
    const expireAt = stored.get("expire_at") as unknown;
    assert.ok(expireAt instanceof Timestamp);
    assert.equal(expireAt.toMillis(), now.getTime() + RETENTION_DEFAULTS.bookkeeping * DAY);
  });

  it("ids with '/' are escaped, not mangled: 'a/b' and 'a_b' are two claims", async () => {
    const now = new Date();
    assert.equal(await ledger(direct).claim("x__a/b", {}, now), true);
    assert.equal(await ledger(direct).claim("x__a_b", {}, now), true);
    assert.equal(await ledger(direct).claim("x__a/b", {}, now), false);
  });

  it("the sweeper's stall alert is sent exactly once when its claim's answer was lost", async () => {
    const config = isolatedPipelineConfig();
    const pipeline = resolvePipeline(config);
    const phase2 = transitionOf(pipeline, "phase2-to-phase3");
    const prefix = uniquePrefix();
    const stateCollection = `${prefix}phase_state`;
    const gameDate = "2026-01-15";
    const t0 = new Date("2026-01-16T08:00:00.000Z");
    const doc = docWith(phase2, gameDate, [completion(phase2.processors[0]!.name, gameDate, t0)], t0, pipeline.timeZone);
    await direct.collection(stateCollection).doc(phaseStateDocId(doc.transitionId, doc.gameDate, doc.latchMode)).set(doc);

    const sent: Alert[] = [];
    const alerter: Alerter = {
      alert: async (alert) => {
        sent.push(alert);
        return { delivered: true, suppressed: false };
      },
    };
    const sweeperWith = (ledgerDb: Firestore) => {
      const breaker = createBreaker(uniqueName("sweep"), { logger: logs.logger });
      return createSweeper({
        db: direct,
        stateCollection,
        breaker,
        pipeline,
        transactions: createPhaseStateTransactions({ db: direct, stateCollection, breaker, logger: logs.logger, timeZone: pipeline.timeZone }),
        republisher: {
          republish: () => Promise.reject(new Error("nothing is pending in this test")),
        },
        stallLedger: ledger(ledgerDb),
        store: { upsertStatus: () => Promise.reject(new Error("nothing is latched in this test")) },
        alerter,
        logger: logs.logger,
        policy: { pendingGraceMinutes: 2, lookbackDays: 3 },
      });
    };
    const at = new Date(t0.getTime() + phase2.stallAfterMinutes * MINUTE);
    const ledgerId = stallAlertId({ docId: phaseStateDocId(doc.transitionId, doc.gameDate, doc.latchMode) });

    const first = await withLostAnswer(ledgerId, () => sweeperWith(viaProxy).sweep(at, "run-1"));
    assert.equal(first.ok, true, JSON.stringify(first.failures));
    assert.equal(first.stalled[0]?.alerted, true);
    const later = await sweeperWith(direct).sweep(new Date(at.getTime() + 10 * MINUTE), "run-2");
    assert.equal(later.stalled[0]?.alerted, false, "the next run sees the claim");

    const stallAlerts = sent.filter((a) => a.subject.kind === "phase_stalled");
    assert.equal(stallAlerts.length, 1, JSON.stringify(sent.map((a) => a.title)));
    assert.deepEqual(stallAlerts[0]!.subject, { kind: "phase_stalled", transition: phase2.id, gameDate, mode: doc.latchMode });
  });

  it("trigger de-dup: a first delivery whose record landed but whose answer was lost is acted on when Pub/Sub redelivers it", async () => {
    const triggerId = "phase2-to-phase3__2026-01-15__daily__abc";
    const dedupe = createTriggerDeduper(viaProxy, collection);
    const attempt = await settledWithLostAnswer(triggerId, () => dedupe.firstDelivery(triggerId, {}, "delivery-1"));
    // The consumer either already learned it was first, or failed and nacked: then the same message comes back.
    const actedOn = "value" in attempt ? attempt.value : await dedupe.firstDelivery(triggerId, {}, "delivery-1");
    assert.equal(actedOn, true, `first delivery acted on (attempt: ${JSON.stringify("error" in attempt ? String(attempt.error) : attempt.value)})`);
    assert.equal(await createTriggerDeduper(direct, collection).firstDelivery(triggerId, {}, "delivery-2"), false, "a duplicate publish is dropped");
    assert.equal(await createTriggerDeduper(direct, collection).firstDelivery("a/b"), true, "a trigger id with / is a valid key");
    assert.equal(await createTriggerDeduper(direct, collection).firstDelivery("a/b"), false);
  });
});

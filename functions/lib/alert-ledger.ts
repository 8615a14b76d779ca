// "Alert once" across instances and runs: a job records that it alerted about something (one stalled
// latch, one unknown processor name) in its own collection, never in the phase-state document, which
// changes only through the phase-state rules in a transaction (docs/ARCHITECTURE.md FM2).
//
// A claim is a Firestore create() carrying a fresh claim id per call. The create can commit and still
// fail on the way back (a timeout or UNAVAILABLE after the write landed); the retry then meets
// ALREADY_EXISTS. Reading the stored claim id tells the two cases apart: our own id means the first
// attempt won and this call still owns the alert; any other id means another caller claimed it.
import { randomUUID } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import { safeDocId } from "../core/doc-ids.ts";
import { EXPIRE_AT_FIELD, expireAt, RETENTION_DEFAULTS } from "../core/retention.ts";
import type { Breaker } from "./circuit-breaker.ts";
import { GRPC_STATUS } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";

export interface AlertLedger {
  /** True for exactly one call per id, across instances and retries (Firestore create() plus the claim id). */
  claim(id: string, facts: Record<string, unknown>, now: Date): Promise<boolean>;
  /** Forget a claim whose alert could not be delivered, so the next run alerts again. */
  release(id: string): Promise<void>;
}

export interface AlertLedgerDeps {
  db: Firestore;
  collection: string;
  breaker: Breaker;
  logger: Logger;
  /** Days a record is kept (its expire_at); default: the bookkeeping retention. */
  retentionDays?: number;
  /** Bound of one attempt (default: the firestoreWrite preset's). */
  attemptTimeoutMs?: number;
  /** The per-call claim id (tests pin it). */
  newClaimId?: () => string;
}

export function createAlertLedger(deps: AlertLedgerDeps): AlertLedger {
  const ref = (id: string) => deps.db.collection(deps.collection).doc(safeDocId(id));
  const retentionDays = deps.retentionDays ?? RETENTION_DEFAULTS.bookkeeping;
  const newClaimId = deps.newClaimId ?? randomUUID;
  const write = <T>(op: string, fn: () => Promise<T>) =>
    deps.breaker.fire(() =>
      withRetry(op, fn, RETRY_PRESETS.firestoreWrite, {
        logger: deps.logger,
        ...(deps.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: deps.attemptTimeoutMs }),
      }),
    );
  return {
    async claim(id, facts, now) {
      const claimId = newClaimId();
      const doc = ref(id);
      return write("firestore.alertLedgerClaim", async () => {
        try {
          await doc.create({ ...facts, alert_id: id, claim_id: claimId, alerted_at: now.toISOString(), [EXPIRE_AT_FIELD]: expireAt(now, retentionDays) });
          return true;
        } catch (error) {
          // Every error but ALREADY_EXISTS goes to the retry and then to the caller.
          if ((error as { code?: unknown }).code !== GRPC_STATUS.ALREADY_EXISTS) throw error;
        }
        const held = await doc.get();
        const mine = held.exists && held.get("claim_id") === claimId;
        if (mine) deps.logger.info(`alert ledger: ${id} was claimed by this call's earlier attempt (its answer was lost)`, { alert_id: id });
        return mine;
      });
    },
    async release(id) {
      await write("firestore.alertLedgerRelease", () => ref(id).delete());
    },
  };
}

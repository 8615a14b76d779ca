// "Alert once" across instances and runs: a scheduled job records that it alerted about something
// (e.g. one stalled latch) in its own collection, never in the phase-state document, whose only
// writer is the completion tracker's transaction rules.
import type { Firestore } from "@google-cloud/firestore";
import type { Breaker } from "./circuit-breaker.ts";
import { GRPC_STATUS } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";

export interface AlertLedger {
  /** True exactly once per id, across instances (Firestore create() is the arbiter). */
  claim(id: string, facts: Record<string, unknown>, now: Date): Promise<boolean>;
  /** Forget a claim whose alert could not be delivered, so the next run alerts again. */
  release(id: string): Promise<void>;
}

export function createAlertLedger(deps: { db: Firestore; collection: string; breaker: Breaker; logger: Logger }): AlertLedger {
  const ref = (id: string) => deps.db.collection(deps.collection).doc(id.replaceAll("/", "_"));
  const write = <T>(op: string, fn: () => Promise<T>) =>
    deps.breaker.fire(() => withRetry(op, fn, RETRY_PRESETS.firestoreWrite, { logger: deps.logger }));
  return {
    claim: (id, facts, now) =>
      write("firestore.alertLedgerClaim", async () => {
        try {
          await ref(id).create({ ...facts, alert_id: id, alerted_at: now.toISOString() });
          return true;
        } catch (error) {
          // ALREADY_EXISTS is the answer "alerted before"; every other error goes to the caller.
          if ((error as { code?: unknown }).code === GRPC_STATUS.ALREADY_EXISTS) return false;
          throw error;
        }
      }),
    release: async (id) => {
      await write("firestore.alertLedgerRelease", () => ref(id).delete());
    },
  };
}

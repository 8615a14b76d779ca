// Consumer side of exactly-once-effective triggering: the outbox may publish a trigger more than
// once (a crash between publish and mark, a redelivery, the sweeper), so the next phase keeps the
// first delivery of each trigger_id and drops the rest.
//
// The record carries the id of the delivery that claimed it (the Pub/Sub message id): when the
// create landed but its answer was lost, the consumer fails, Pub/Sub redelivers the same message,
// and the redelivery finds its own claim id, so the trigger is acted on instead of dropped.
import type { Firestore } from "@google-cloud/firestore";
import { safeDocId } from "../core/doc-ids.ts";
import { EXPIRE_AT_FIELD, expireAt, RETENTION_DEFAULTS } from "../core/retention.ts";
import { GRPC_STATUS } from "./errors.ts";

export interface TriggerDeduper {
  /**
   * True for the first delivery of a trigger id across instances (Firestore create() is the
   * arbiter), and again for a redelivery of that same delivery (same `deliveryId`).
   */
  firstDelivery(triggerId: string, facts?: Record<string, string>, deliveryId?: string): Promise<boolean>;
}

export function createTriggerDeduper(
  db: Firestore,
  collection: string,
  clock: () => Date = () => new Date(),
  retentionDays: number = RETENTION_DEFAULTS.bookkeeping,
): TriggerDeduper {
  return {
    async firstDelivery(triggerId, facts = {}, deliveryId) {
      // The trigger id comes from a message: escaped like every id from input.
      const ref = db.collection(collection).doc(safeDocId(triggerId));
      const now = clock();
      try {
        await ref.create({
          ...facts,
          trigger_id: triggerId,
          ...(deliveryId === undefined ? {} : { delivery_id: deliveryId }),
          first_seen_at: now.toISOString(),
          [EXPIRE_AT_FIELD]: expireAt(now, retentionDays),
        });
        return true;
      } catch (error) {
        // ALREADY_EXISTS is the answer "seen before"; every other error is the caller's to handle.
        if ((error as { code?: unknown }).code !== GRPC_STATUS.ALREADY_EXISTS) throw error;
      }
      if (deliveryId === undefined) return false;
      return (await ref.get()).get("delivery_id") === deliveryId;
    },
  };
}

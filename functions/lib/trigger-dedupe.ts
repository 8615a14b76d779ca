// Consumer side of exactly-once-effective triggering: the outbox may publish a trigger more than
// once (a crash between publish and mark, a redelivery, the sweeper), so the next phase keeps the
// first delivery of each trigger_id and drops the rest.
import type { Firestore } from "@google-cloud/firestore";
import { GRPC_STATUS } from "./errors.ts";

export interface TriggerDeduper {
  /** True exactly once per trigger id, across instances (Firestore create() is the arbiter). */
  firstDelivery(triggerId: string, facts?: Record<string, string>): Promise<boolean>;
}

export function createTriggerDeduper(db: Firestore, collection: string, clock: () => Date = () => new Date()): TriggerDeduper {
  return {
    async firstDelivery(triggerId, facts = {}) {
      try {
        await db.collection(collection).doc(triggerId).create({ ...facts, trigger_id: triggerId, first_seen_at: clock().toISOString() });
        return true;
      } catch (error) {
        // ALREADY_EXISTS is the answer "seen before"; every other error is the caller's to handle.
        if ((error as { code?: unknown }).code === GRPC_STATUS.ALREADY_EXISTS) return false;
        throw error;
      }
    },
  };
}

// Bad input is kept, not dropped: the raw message goes to a Firestore quarantine collection where an
// operator can read and replay it. The caller acknowledges the message only after this write
// succeeded, so nothing is lost and nothing retries forever.
import { createHash } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import type { ContractError } from "../core/contracts.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";

export interface QuarantineRecord {
  functionName: string;
  transitionId: string;
  /** The push request body exactly as received (JSON), so a replay republishes the same bytes. */
  rawBody: unknown;
  messageId: string | null;
  subscription: string | null;
  errors: ContractError[];
  /** The first error's code: bad_base64, bad_json, oversize, unknown_processor, invalid_contract, ... */
  reason: string;
  receivedAt: string;
}

export interface QuarantineDeps {
  db: Firestore;
  collection: string;
  unknownProcessorCollection: string;
  breaker: Breaker;
  logger: Logger;
  /** Bound of one write attempt (default: the firestoreWrite preset's). */
  attemptTimeoutMs?: number;
}

/** Stable id: the Pub/Sub message id when there is one, else a digest of the body (redeliveries collapse). */
export function quarantineDocId(transitionId: string, messageId: string | null, rawBody: unknown): string {
  const key = messageId ?? createHash("sha256").update(JSON.stringify(rawBody) ?? "undefined").digest("hex");
  return `${transitionId}__${key}`;
}

export function createQuarantine(deps: QuarantineDeps) {
  const write = <T>(op: string, fn: () => Promise<T>) =>
    deps.breaker.fire(() =>
      withRetry(op, fn, RETRY_PRESETS.firestoreWrite, {
        logger: deps.logger,
        ...(deps.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: deps.attemptTimeoutMs }),
      }),
    );

  return {
    /** Throws when the record could not be stored: the caller must then answer non-2xx. */
    async put(record: QuarantineRecord): Promise<string> {
      const id = quarantineDocId(record.transitionId, record.messageId, record.rawBody);
      // The body is stored as JSON text: Firestore rejects some shapes (nested arrays, undefined).
      await write("firestore.quarantine", () =>
        deps.db
          .collection(deps.collection)
          .doc(id)
          .set({
            function_name: record.functionName,
            transition_id: record.transitionId,
            raw_body: JSON.stringify(record.rawBody ?? null),
            message_id: record.messageId,
            subscription: record.subscription,
            errors: record.errors.map((e) => ({ path: e.path, message: e.message, code: e.code ?? null })),
            reason: record.reason,
            received_at: record.receivedAt,
            replayed: false,
          }),
      );
      return id;
    },

    /**
     * Remember an unknown processor name; true only the first time it is seen for this transition,
     * so the alert about it goes out once, across instances.
     */
    async firstSightingOfUnknown(transitionId: string, reportedName: string, seenAt: string): Promise<boolean> {
      const ref = deps.db.collection(deps.unknownProcessorCollection).doc(`${transitionId}__${reportedName}`.slice(0, 1400));
      return write("firestore.unknownProcessor", () =>
        deps.db.runTransaction(async (tx) => {
          const snap = await tx.get(ref);
          if (snap.exists) return false;
          tx.set(ref, { transition_id: transitionId, reported_name: reportedName, first_seen_at: seenAt });
          return true;
        }),
      );
    },
  };
}

export type Quarantine = ReturnType<typeof createQuarantine>;

// Bad input is kept, not dropped: the raw message goes to a Firestore quarantine collection where an
// operator can read and replay it. The caller acknowledges the message only after this write
// succeeded, so nothing is lost and nothing retries forever.
import { createHash } from "node:crypto";
import type { Firestore } from "@google-cloud/firestore";
import type { ContractError } from "../core/contracts.ts";
import { safeDocId } from "../core/doc-ids.ts";
import { EXPIRE_AT_FIELD, expireAt, RETENTION_DEFAULTS, type RetentionDays } from "../core/retention.ts";
import { createAlertLedger } from "./alert-ledger.ts";
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
  /** How long quarantined messages and first sightings are kept (default: RETENTION_DEFAULTS). */
  retention?: Pick<RetentionDays, "quarantine" | "bookkeeping">;
}

/**
 * Stable id: the Pub/Sub message id when there is one, else a digest of the body (redeliveries
 * collapse). The message id comes from the request, so it is escaped like any id from input.
 */
export function quarantineDocId(transitionId: string, messageId: string | null, rawBody: unknown): string {
  const key = messageId ?? createHash("sha256").update(JSON.stringify(rawBody) ?? "undefined").digest("hex");
  return safeDocId(`${transitionId}__${key}`);
}

/** The first-sighting key of an unknown processor name (escaped into a document id by the ledger). */
export const unknownProcessorKey = (transitionId: string, reportedName: string) => `${transitionId}__${reportedName}`;

export function createQuarantine(deps: QuarantineDeps) {
  const retention = deps.retention ?? RETENTION_DEFAULTS;
  // Unknown names are alerted once per transition and name: the same claim as the stall alerts.
  const sightings = createAlertLedger({
    db: deps.db,
    collection: deps.unknownProcessorCollection,
    breaker: deps.breaker,
    logger: deps.logger,
    retentionDays: retention.bookkeeping,
    ...(deps.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: deps.attemptTimeoutMs }),
  });
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
            [EXPIRE_AT_FIELD]: expireAt(new Date(record.receivedAt), retention.quarantine),
          }),
      );
      return id;
    },

    /**
     * Remember an unknown processor name; true for exactly one call per transition and name (also
     * when this call's own write landed but its answer was lost), so the alert goes out once.
     */
    async firstSightingOfUnknown(transitionId: string, reportedName: string, seenAt: string): Promise<boolean> {
      return sightings.claim(
        unknownProcessorKey(transitionId, reportedName),
        { transition_id: transitionId, reported_name: reportedName, first_seen_at: seenAt },
        new Date(seenAt),
      );
    },

    /** Forget a sighting whose alert could not be delivered, so the next message alerts again. */
    async forgetSighting(transitionId: string, reportedName: string): Promise<void> {
      await sightings.release(unknownProcessorKey(transitionId, reportedName));
    },
  };
}

export type Quarantine = ReturnType<typeof createQuarantine>;

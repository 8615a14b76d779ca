// The publish claim: the one lease that decides who may republish a pending trigger it did not latch
// (an orchestrator call after the grace period, the scheduled jobs), so they never both publish it.
// Apart from the scheduled jobs' republisher so an orchestrator's bundle carries only the claim.
import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import type { PhaseStateDoc } from "../core/phase-state.ts";
import { safeDocId } from "../core/doc-ids.ts";
import { EXPIRE_AT_FIELD, expireAt, RETENTION_DEFAULTS } from "../core/retention.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";

interface ClaimDoc {
  trigger_id: string;
  claimed_by: string;
  claimed_at: string;
  expires_at: string;
  /** When the TTL policy may delete the record (the lease above ends long before). */
  [EXPIRE_AT_FIELD]: Date;
}

export const DEFAULT_CLAIM_LEASE_MS = 5 * 60_000;

export type ClaimResult =
  | { kind: "claimed"; doc: PhaseStateDoc }
  | { kind: "already_published"; triggerId: string | null }
  | { kind: "claimed_elsewhere"; triggerId: string };

export interface ClaimDeps {
  db: Firestore;
  claimsCollection: string;
  breaker: Breaker;
  logger: Logger;
  /** Days a claim record is kept (expire_at); default: the bookkeeping retention. */
  retentionDays?: number;
}

/**
 * Claim the right to publish a pending trigger; returns the fresh document when `runId` may publish
 * it. The one claim mechanism for everyone who republishes a trigger it did not latch (the scheduled
 * jobs, and an orchestrator call after the grace period), so they never publish it twice between them.
 */
export function claimTriggerPublish(
  deps: ClaimDeps,
  ref: DocumentReference,
  runId: string,
  now: Date,
  leaseMs: number = DEFAULT_CLAIM_LEASE_MS,
  retry: { attemptTimeoutMs?: number; deadlineAt?: number } = {},
): Promise<ClaimResult> {
  const claims = deps.db.collection(deps.claimsCollection);
  return deps.breaker.fire(() =>
    withRetry(
      "firestore.claimTriggerPublish",
      (_attempt, signal) =>
        deps.db.runTransaction(async (tx): Promise<ClaimResult> => {
          // An attempt given up on (timed out) stops contending instead of racing the next one.
          signal.throwIfAborted();
          const snap = await tx.get(ref);
          signal.throwIfAborted();
          const doc = snap.exists ? (snap.data() as PhaseStateDoc) : null;
          const trigger = doc?.trigger ?? null;
          if (doc === null || trigger === null || trigger.state === "published") {
            return { kind: "already_published" as const, triggerId: trigger?.triggerId ?? null };
          }
          const claimRef = claims.doc(safeDocId(trigger.triggerId));
          const held = await tx.get(claimRef);
          const existing = held.exists ? (held.data() as ClaimDoc) : null;
          if (existing !== null && existing.claimed_by !== runId && Date.parse(existing.expires_at) > now.getTime()) {
            return { kind: "claimed_elsewhere" as const, triggerId: trigger.triggerId };
          }
          const record: ClaimDoc = {
            trigger_id: trigger.triggerId,
            claimed_by: runId,
            claimed_at: now.toISOString(),
            expires_at: new Date(now.getTime() + leaseMs).toISOString(),
            [EXPIRE_AT_FIELD]: expireAt(now, deps.retentionDays ?? RETENTION_DEFAULTS.bookkeeping),
          };
          tx.set(claimRef, record);
          return { kind: "claimed" as const, doc };
        }),
      RETRY_PRESETS.firestoreWrite,
      { logger: deps.logger, ...retry },
    ),
  );
}

/**
 * Give a claim back after a republish that certainly did not go out (the publish was refused, or the
 * execution log could not be asked), so the next caller may try at once instead of waiting out the
 * lease. Never after a publish that may still land (given up in flight) or that went out. Only the
 * holder's own claim is deleted. A failure is logged: the lease still ends the claim.
 */
export async function releaseTriggerPublishClaim(deps: ClaimDeps, triggerId: string, runId: string): Promise<boolean> {
  const claimRef = deps.db.collection(deps.claimsCollection).doc(safeDocId(triggerId));
  try {
    return await deps.breaker.fire(() =>
      withRetry(
        "firestore.releaseTriggerPublishClaim",
        () =>
          deps.db.runTransaction(async (tx) => {
            const held = await tx.get(claimRef);
            if (!held.exists || (held.data() as ClaimDoc).claimed_by !== runId) return false;
            tx.delete(claimRef);
            return true;
          }),
        RETRY_PRESETS.firestoreWrite,
        { logger: deps.logger },
      ),
    );
  } catch (error) {
    deps.logger.warning(`could not release the publish claim of ${triggerId}; it ends with its lease`, { error, trigger_id: triggerId, run_id: runId });
    return false;
  }
}

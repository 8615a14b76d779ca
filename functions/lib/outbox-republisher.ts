// Publishing a latched trigger from a scheduled job. Two sweeper runs (an overlap, a Cloud Scheduler
// retry) may see the same pending trigger: a claim in the scheduled jobs' own collection, taken in a
// transaction that also re-reads the phase-state document, lets exactly one of them publish. The
// publish itself and the mark-published step are the tracker's (publishPending: publish, then
// markPublished inside a transaction), so the phase-state document keeps its single writer. A claim
// expires, so a run that died after claiming does not block the trigger for good; the next phase
// de-duplicates by trigger_id, so a publish racing an orchestrator's redelivery is harmless.
// Before republishing, the execution log is asked whether the trigger already went out (its publisher's
// mark may have failed after the publish): if so it is only marked published (checkExecutionLog).
import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import type { Transition } from "../core/pipeline-types.ts";
import { claimTriggerPublish, DEFAULT_CLAIM_LEASE_MS, releaseTriggerPublishClaim } from "./publish-claim.ts";
import { certainlyNotSent } from "./tracker-types.ts";
import { executionLogRowOf, latchedStatusRowOf, type PhaseStateDoc } from "../core/phase-state.ts";
import type { BigQueryStore, ExecutionLogReader } from "./bigquery-store.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { CompletionTracker } from "./completion-tracker.ts";
import type { Logger } from "./logger.ts";
import type { Alerter } from "./slack.ts";
import { checkExecutionLog, type ExecutionLogCheck, type ExecutionLogCheckDeps } from "./execution-log-check.ts";

export type RepublishOutcome =
  /**
   * executionLogError / statusError: the trigger went out but its phase_execution_log row, or the
   * aggregate row of someone else's latch, could not be written.
   */
  | { outcome: "published"; triggerId: string; executionLogError?: unknown; statusError?: unknown }
  /**
   * Published meanwhile (by the orchestrator or another run): nothing to do. foundInExecutionLog: the
   * document was still pending but the execution log had the trigger's row; it is now marked published.
   */
  | { outcome: "already_published"; triggerId: string | null; foundInExecutionLog?: true }
  /** Another run holds an unexpired claim on this trigger. */
  | { outcome: "claimed_elsewhere"; triggerId: string }
  | { outcome: "failed"; triggerId: string; error: unknown };

export interface OutboxRepublisherDeps {
  db: Firestore;
  /** The scheduled jobs' own collection of publish claims (never the phase-state collection). */
  claimsCollection: string;
  breaker: Breaker;
  logger: Logger;
  /** The tracker of the trigger's transition: its publishPending publishes and marks published. */
  trackerFor(transitionId: string): CompletionTracker;
  /** The transition's model (for the execution-log row). */
  transitionFor(transitionId: string): Transition;
  /**
   * Where the execution-log row of a trigger this job published goes, and who published it; asked
   * before every republish whether the trigger already has its row (checkExecutionLog).
   */
  executionLog: Pick<BigQueryStore, "insertExecutionLog" | "upsertStatus"> & ExecutionLogReader;
  /** The orchestrators' publish grace period (publishGraceMsFor): bounds how long a BigQuery outage delays a republish. */
  publishGraceMs: number;
  /** Alerted when a trigger is republished without the execution log's answer. */
  alerter: Alerter;
  identity: { functionName: string; codeHash: string };
  /** How long a claim holds (longer than one publish + mark with all retries). */
  claimLeaseMs?: number;
  /** Days a claim record is kept (its expire_at, for the TTL policy); default: the bookkeeping retention. */
  retentionDays?: number;
}

// The claim itself lives in publish-claim.ts, so the orchestrators' bundles can take it without this module.
export { claimTriggerPublish, DEFAULT_CLAIM_LEASE_MS } from "./publish-claim.ts";
export type { ClaimDeps, ClaimResult } from "./publish-claim.ts";

/** A republish under the claim; a failure says whether it certainly did not go out (the claim is then given back). */
type ClaimedOutcome = Exclude<RepublishOutcome, { outcome: "failed" }> | { outcome: "failed"; triggerId: string; error: unknown; certainlyNotSent: boolean };

export function createOutboxRepublisher(deps: OutboxRepublisherDeps) {
  const leaseMs = deps.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  const checkDeps: ExecutionLogCheckDeps = {
    db: deps.db,
    breaker: deps.breaker,
    logger: deps.logger,
    executionLog: deps.executionLog,
    publishGraceMs: deps.publishGraceMs,
    alerter: deps.alerter,
  };

  const claimDeps = { db: deps.db, claimsCollection: deps.claimsCollection, breaker: deps.breaker, logger: deps.logger, ...(deps.retentionDays === undefined ? {} : { retentionDays: deps.retentionDays }) };
  /** Claim the right to publish; returns the fresh document when this run may publish it. */
  const claim = (ref: DocumentReference, runId: string, now: Date) =>
    claimTriggerPublish(
      claimDeps,
      ref,
      runId,
      now,
      leaseMs,
    );

  return {
    /** Never throws for a failed publish: the outcome says so (the trigger stays pending for the next run). */
    async republish(transitionId: string, ref: DocumentReference, runId: string, now: Date): Promise<RepublishOutcome> {
      const claimed = await claim(ref, runId, now);
      if (claimed.kind !== "claimed") return { outcome: claimed.kind, triggerId: claimed.triggerId } as RepublishOutcome;
      const result = await publishClaimed(transitionId, claimed.doc, ref, runId, now);
      // Certainly not sent: give the claim back, so the next run (or a redelivery) need not wait out its lease.
      if (result.outcome === "failed" && result.certainlyNotSent) await releaseTriggerPublishClaim(claimDeps, result.triggerId, runId);
      return result.outcome === "failed" ? { outcome: "failed", triggerId: result.triggerId, error: result.error } : result;
    },
  };

  async function publishClaimed(
    transitionId: string,
    doc: PhaseStateDoc,
    ref: DocumentReference,
    runId: string,
    now: Date,
  ): Promise<ClaimedOutcome> {
    // A trigger this very run latched (decided at its `now`, as the tracker tells its own latch) was
    // published by nobody yet: no question to ask.
    const latchedByThisRun = doc.trigger?.decidedAt === now.toISOString();
    let check: ExecutionLogCheck = { kind: "publish" };
    try {
      if (!latchedByThisRun) check = await checkExecutionLog(checkDeps, doc, ref, runId, now);
    } catch (error) {
      return { outcome: "failed", triggerId: doc.trigger?.triggerId ?? ref.id, error, certainlyNotSent: true };
    }
    if (check.kind === "marked_published") return { outcome: "already_published", triggerId: check.triggerId, foundInExecutionLog: true };
    if (check.kind === "wait") return { outcome: "failed", triggerId: check.triggerId, error: check.error, certainlyNotSent: true };
    const result = await deps.trackerFor(transitionId).publishPending(doc, ref, undefined, { publishedBy: runId });
    if (result === null) return { outcome: "already_published", triggerId: null };
    // Published but not marked: the execution-log row is written all the same, so the next
    // republisher finds it and marks the trigger instead of publishing it again.
    const wentOut = result.publishedNow || result.failedStep === "mark";
    if (!wentOut && result.error === undefined) return { outcome: "already_published", triggerId: result.triggerId };
    let executionLogError: unknown;
    let statusError: unknown;
    if (wentOut) {
      const transition = deps.transitionFor(transitionId);
      // One row per trigger id (deterministic insert id), as when an orchestrator publishes.
      try {
        await deps.executionLog.insertExecutionLog(executionLogRowOf(doc, transition, deps.identity));
      } catch (error) {
        executionLogError = error;
      }
      // Someone else's latch: its caller failed or died, maybe before its aggregate MERGE. A run's own
      // latch has its MERGE from that run (sweeper, reconciler).
      if (!latchedByThisRun) {
        try {
          await deps.executionLog.upsertStatus(latchedStatusRowOf(doc, transition));
        } catch (error) {
          statusError = error;
        }
      }
    }
    if (result.error !== undefined) return { outcome: "failed", triggerId: result.triggerId, error: result.error, certainlyNotSent: certainlyNotSent(result) };
    return {
      outcome: "published",
      triggerId: result.triggerId,
      ...(executionLogError === undefined ? {} : { executionLogError }),
      ...(statusError === undefined ? {} : { statusError }),
    };
  }
}

export type OutboxRepublisher = ReturnType<typeof createOutboxRepublisher>;

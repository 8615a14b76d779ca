// The completion tracker's Firestore transactions on one phase-state document: record a completion
// (record, decide, latch: the single writer's rules of core/phase-state.ts), and apply one later change
// (mark published, mark the latch incomplete). Each goes through the breaker and withRetry, every
// attempt bounded, all of one event within its deadline.
import type { Firestore } from "@google-cloud/firestore";
import type { Transition } from "../core/pipeline-types.ts";
import { latchModeOfCompletion, phaseStateDocId, recordAndDecide, type PhaseStateDoc, type ResolvedCompletion } from "../core/phase-state.ts";
import { ContractViolationError } from "../core/error-family.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import { createKeyedSerializer } from "./keyed-serializer.ts";
import type { PhaseStateRef } from "./tracker-types.ts";

export interface TrackerTransactionDeps {
  db: Firestore;
  stateCollection: string;
  firestoreBreaker: Breaker;
  logger: Logger;
  transition: Transition;
  timeZone: string;
  phaseStateRetentionDays?: number | undefined;
  /** Bound of one transaction attempt. */
  txTimeoutMs: number;
  /** What one event may spend (the default deadline is from the call's start). */
  eventBudgetMs: number;
}

export function createTrackerTransactions(deps: TrackerTransactionDeps) {
  const { db, transition, logger, txTimeoutMs, eventBudgetMs } = deps;
  const collection = db.collection(deps.stateCollection);
  const oneAtATimePerDocument = createKeyedSerializer();

  /** One transaction: record the entry, decide, latch a pending trigger. Retried whole on transient errors. */
  async function recordInFirestore(c: ResolvedCompletion, now: Date, deadlineAt = Date.now() + eventBudgetMs, log: Logger = logger) {
    const latchMode = latchModeOfCompletion(transition, c, now, deps.timeZone);
    const ref = collection.doc(phaseStateDocId(transition.id, c.gameDate, latchMode));
    return oneAtATimePerDocument(ref.path, () => deps.firestoreBreaker.fire(() =>
      withRetry(
        "firestore.recordCompletion",
        (_attempt, signal) =>
          db.runTransaction(async (tx) => {
            // An attempt given up on (timed out) must not keep contending: the client would otherwise
            // keep retrying it in the background next to our next attempt. Throwing rolls it back.
            signal.throwIfAborted();
            const snap = await tx.get(ref);
            signal.throwIfAborted();
            const step = recordAndDecide(
              snap.exists ? (snap.data() as PhaseStateDoc) : null,
              transition,
              latchMode,
              c,
              now,
              now,
              deps.timeZone,
              deps.phaseStateRetentionDays,
            );
            if (step.write) tx.set(ref, step.doc);
            return { doc: step.doc, changed: step.changed, latchedNow: step.latchedNow, decision: step.decision, ref };
          }),
        RETRY_PRESETS.firestoreWrite,
        { logger: log, attemptTimeoutMs: txTimeoutMs, deadlineAt },
      ),
    ));
  }

  /** One transaction on the phase-state document, through the breaker, bounded like the record. */
  function transact(op: string, ref: PhaseStateRef, deadlineAt: number, log: Logger, change: (doc: PhaseStateDoc) => PhaseStateDoc) {
    return deps.firestoreBreaker.fire(() =>
      withRetry(
        op,
        (_attempt, signal) =>
          db.runTransaction(async (tx) => {
            signal.throwIfAborted();
            const snap = await tx.get(ref);
            // Only TTL deletes these documents, days after their game date: one gone mid-event is data that cannot be.
            if (!snap.exists) throw new ContractViolationError(`phase state ${ref.id} vanished before ${op}`);
            const current = snap.data() as PhaseStateDoc;
            const next = change(current);
            if (next !== current) tx.set(ref, next);
          }),
        RETRY_PRESETS.firestoreWrite,
        { logger: log, attemptTimeoutMs: txTimeoutMs, deadlineAt },
      ),
    );
  }

  return { recordInFirestore, transact };
}

export type TrackerTransactions = ReturnType<typeof createTrackerTransactions>;

// The scheduled jobs' writes to phase-state documents. They use exactly the tracker's rules
// (applyCompletion -> decideFor -> latchTrigger from core/phase-state.ts) inside one Firestore
// transaction, as the completion tracker does, so the document is never written outside a
// transaction and a trigger is latched at most once whoever gets there first (docs/ARCHITECTURE.md FM2).
// Publishing stays with the tracker (publishPending: publish, then markPublished in a transaction).
import type { DocumentReference, Firestore, Query, QuerySnapshot, Transaction } from "@google-cloud/firestore";
import type { Decision } from "../core/decision-types.ts";
import type { Transition } from "../core/pipeline-types.ts";
import {
  decideFor,
  latchTrigger,
  recordAndDecide,
  type LatchMode,
  type PhaseStateDoc,
  type ResolvedCompletion,
} from "../core/phase-state.ts";
import { phaseStateDocId } from "../core/phase-state.ts";
import { latchCauseOf } from "../core/sweep-rules.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";

export interface PhaseStateTransactionDeps {
  db: Firestore;
  stateCollection: string;
  breaker: Breaker;
  logger: Logger;
  timeZone: string;
  /** Firestore transactions under contention can take longer than one plain write. */
  transactionTimeoutMs?: number;
  /** Days a phase-state document created here is kept after its game date (default retention.ts). */
  phaseStateRetentionDays?: number;
}

export interface TransactionOutcome {
  ref: DocumentReference;
  /** The document as committed (or as read, when nothing changed); null when it does not exist. */
  doc: PhaseStateDoc | null;
  /** The write changed an entry. */
  changed: boolean;
  /** This transaction latched the trigger (exactly one caller ever sees true per latch). */
  latchedNow: boolean;
  decision: Decision | null;
}

export function createPhaseStateTransactions(deps: PhaseStateTransactionDeps) {
  const { db, logger } = deps;
  const collection = db.collection(deps.stateCollection);
  const attemptTimeoutMs = deps.transactionTimeoutMs ?? 20_000;

  function run<T>(op: string, body: (tx: Transaction) => Promise<T>): Promise<T> {
    return deps.breaker.fire(() =>
      withRetry(op, () => db.runTransaction(body), RETRY_PRESETS.firestoreWrite, { logger, attemptTimeoutMs }),
    );
  }

  return {
    refOf(transitionId: string, gameDate: string, latchMode: LatchMode): DocumentReference {
      return collection.doc(phaseStateDocId(transitionId, gameDate, latchMode));
    },

    /**
     * Record a completion BigQuery has and Firestore lacks, in the latch it was recorded under. The
     * entry keeps its original recorded time (so the first-completion clock is not restarted); the
     * decision is taken at `now`, so a trigger that is due now is latched.
     */
    async recordCompletion(
      transition: Transition,
      latchMode: LatchMode,
      completion: ResolvedCompletion,
      recordedAt: Date,
      now: Date,
    ): Promise<TransactionOutcome> {
      const ref = this.refOf(transition.id, completion.gameDate, latchMode);
      return run("firestore.reconcileCompletion", async (tx) => {
        const snap = await tx.get(ref);
        const step = recordAndDecide(
          snap.exists ? (snap.data() as PhaseStateDoc) : null,
          transition,
          latchMode,
          completion,
          recordedAt,
          now,
          deps.timeZone,
          deps.phaseStateRetentionDays,
        );
        if (step.write) tx.set(ref, step.doc);
        return { ref, doc: step.doc, changed: step.changed, latchedNow: step.latchedNow, decision: step.decision };
      });
    },

    /** Re-run decide() at `now` with no new entry, and latch if time alone made the trigger due. */
    async reevaluate(transition: Transition, ref: DocumentReference, now: Date): Promise<TransactionOutcome> {
      return run("firestore.reevaluate", async (tx) => {
        const snap = await tx.get(ref);
        if (!snap.exists) return { ref, doc: null, changed: false, latchedNow: false, decision: null };
        const current = snap.data() as PhaseStateDoc;
        if (current.trigger !== null) return { ref, doc: current, changed: false, latchedNow: false, decision: null };
        const decision = decideFor(current, transition, now, deps.timeZone);
        if (!decision.trigger) return { ref, doc: current, changed: false, latchedNow: false, decision };
        const latched = latchTrigger(current, transition, decision, latchCauseOf(current), now);
        if (latched !== current) tx.set(ref, latched);
        return { ref, doc: latched, changed: false, latchedNow: latched !== current, decision };
      });
    },
  };
}

export type PhaseStateTransactions = ReturnType<typeof createPhaseStateTransactions>;

type PhaseStateReader = Pick<PhaseStateTransactionDeps, "db" | "stateCollection" | "breaker" | "logger">;

/**
 * One read of the scheduled jobs, bounded like every Firestore call here: retried, behind the
 * breaker, so a refused or hung connection fails the run, never hangs it.
 */
function readBounded(deps: PhaseStateReader, op: string, query: Query): Promise<QuerySnapshot> {
  return deps.breaker.fire(() => withRetry(op, () => query.get(), RETRY_PRESETS.firestoreRead, { logger: deps.logger }));
}

/** The phase-state documents of a game-date range, for the scheduled jobs. */
export async function readPhaseStates(deps: PhaseStateReader, fromDate: string, toDate: string): Promise<PhaseStateDoc[]> {
  const query = deps.db.collection(deps.stateCollection).where("gameDate", ">=", fromDate).where("gameDate", "<=", toDate);
  const snap = await readBounded(deps, "firestore.readPhaseStates", query);
  return snap.docs.map((d) => d.data() as PhaseStateDoc);
}

/** How many pending triggers one sweep takes beyond its look-back; more wait for the next run. */
export const PENDING_TRIGGERS_PER_RUN = 200;

/**
 * The phase-state documents whose trigger is pending, whatever their game date: the outbox is drained
 * however old the date (a backfill's trigger left pending has no other way out once its messages stop).
 */
export async function readPendingTriggers(deps: PhaseStateReader, limit = PENDING_TRIGGERS_PER_RUN): Promise<PhaseStateDoc[]> {
  const query = deps.db.collection(deps.stateCollection).where("trigger.state", "==", "pending").limit(limit);
  const snap = await readBounded(deps, "firestore.readPendingTriggers", query);
  return snap.docs.map((d) => d.data() as PhaseStateDoc);
}

/** How many older game dates one reconciliation takes; more wait for the next run. */
export const OLDER_DATES_PER_RUN = 31;
/**
 * How many recently written documents one reconciliation scans for older dates (each read is only
 * the game date): about a look-back of a busy backfill. A scan that reaches it says so.
 */
export const RECENT_DOCUMENTS_SCANNED_PER_RUN = 2_000;

export interface OlderDates {
  /** Newest first, at most OLDER_DATES_PER_RUN (by default). */
  dates: string[];
  /** Dates found beyond those taken, or a scan cut at its limit: the next runs must take the rest. */
  truncated: boolean;
}

/**
 * Game dates before `before` whose phase-state documents were written at or after `since` (ISO): a
 * backfill's dates, older than the look-back, which the reconciler checks as well. Reads only the
 * game date of each document. Newest dates first, so a cut leaves the oldest for the next run.
 */
export async function readGameDatesWrittenSince(
  deps: PhaseStateReader,
  since: string,
  before: string,
  limits: { scanLimit?: number; dateLimit?: number } = {},
): Promise<OlderDates> {
  const { scanLimit = RECENT_DOCUMENTS_SCANNED_PER_RUN, dateLimit = OLDER_DATES_PER_RUN } = limits;
  const query = deps.db.collection(deps.stateCollection).where("updatedAt", ">=", since).select("gameDate").limit(scanLimit);
  const snap = await readBounded(deps, "firestore.readGameDatesWrittenSince", query);
  const found = [...new Set(snap.docs.map((d) => String(d.get("gameDate"))).filter((date) => date < before))].sort().reverse();
  const dates = found.slice(0, dateLimit);
  return { dates, truncated: found.length > dates.length || snap.size >= scanLimit };
}

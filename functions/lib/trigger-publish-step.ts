// The trigger outbox's publish step (docs/ARCHITECTURE.md, "the trigger outbox"): publish a latched
// trigger and mark it published; settle a publish given up in flight when it lands; and, for anyone
// but the latching call, publish only while holding the publish claim shared with the scheduled jobs.
import type { Firestore } from "@google-cloud/firestore";
import type { Transition } from "../core/pipeline-types.ts";
import { markLatchIncomplete, markPublished, type PhaseStateDoc } from "../core/phase-state.ts";
import { LOG_FIELDS } from "../core/log-events.ts";
import { RETRY_PRESETS, withRetry } from "./retry.ts";
import { claimTriggerPublish, DEFAULT_CLAIM_LEASE_MS, releaseTriggerPublishClaim } from "./publish-claim.ts";
import { checkExecutionLog } from "./execution-log-check.ts";
import type { ExecutionLogReader } from "./bigquery-store.ts";
import type { Breaker } from "./circuit-breaker.ts";
import type { Logger } from "./logger.ts";
import type { TrackerTransactions } from "./tracker-transaction.ts";
import { reportLatePublish, reportLeftPending, reportTriggerPublished } from "./tracker-log.ts";
import { certainlyNotSent, type PhaseStateRef, type TriggerOutcome, type TriggerPublisher } from "./tracker-types.ts";

export interface TriggerPublishDeps {
  db: Firestore;
  publisher: TriggerPublisher;
  firestoreBreaker: Breaker;
  logger: Logger;
  transition: Transition;
  claimsCollection: string;
  clock: () => Date;
  txTimeoutMs: number;
  eventBudgetMs: number;
  transact: TrackerTransactions["transact"];
  /** The publish grace period (bounds how long an unreadable execution log delays a republish). */
  publishGraceMs: number;
  /** Asked before a claimed republish (execution-log-check.ts); absent: not asked. */
  executionLog?: ExecutionLogReader;
}

export function createTriggerPublishStep(deps: TriggerPublishDeps) {
  const { db, transition, logger, clock, transact, txTimeoutMs, eventBudgetMs } = deps;

  /**
   * Publish a latched trigger, then mark it published. Callers decide who may: the call that latched
   * it, or (after the grace period, holding the publish claim) someone else.
   */
  async function publishPending(
    doc: PhaseStateDoc,
    ref: PhaseStateRef,
    deadlineAt = Date.now() + eventBudgetMs,
    opts: { publishedBy?: string; logger?: Logger; owedBy?: string } = {},
  ): Promise<TriggerOutcome | null> {
    const log = opts.logger ?? logger;
    const trigger = doc.trigger;
    if (!trigger) return null;
    if (trigger.state === "published") return { triggerId: trigger.triggerId, state: "published", publishedNow: false };
    let step: "publish" | "mark" = "publish";
    // A publish whose attempt timed out may still be accepted by Pub/Sub (a slow first call, a loaded
    // host): a retry must not send a second copy while it is in flight, only wait for it longer. A new
    // publish goes out only after the previous one was refused.
    let inFlight: Promise<string> | null = null;
    const publishOnce = (): Promise<string> => {
      if (inFlight === null) {
        const call = deps.publisher.publish(transition.outputTopicName, trigger.payload, {
          trigger_id: trigger.triggerId,
          transition: transition.id,
          game_date: doc.gameDate,
        });
        inFlight = call;
        // Registered before withRetry awaits the call, so a refused call is cleared before the retry.
        call.catch(() => {
          if (inFlight === call) inFlight = null;
        });
      }
      return inFlight;
    };
    try {
      const messageId = await withRetry("pubsub.publishTrigger", publishOnce, RETRY_PRESETS.pubsubPublish, { logger: log, deadlineAt });
      step = "mark";
      await transact("firestore.markPublished", ref, deadlineAt, log, (current) => markPublished(current, messageId, clock(), opts.publishedBy));
      reportTriggerPublished(transition, doc.gameDate, trigger, messageId, opts.publishedBy, log);
      return { triggerId: trigger.triggerId, state: "published", publishedNow: true };
    } catch (error) {
      // The trigger stays pending in Firestore: a redelivery (non-2xx) or the sweeper publishes it.
      const unknown = step === "publish" && inFlight !== null;
      reportLeftPending(transition, doc.gameDate, trigger.triggerId, step, unknown, error, log);
      if (unknown && inFlight !== null) settleLate(inFlight, ref, doc, opts.publishedBy, opts.owedBy, log);
      return { triggerId: trigger.triggerId, state: "pending", publishedNow: false, error, failedStep: step, ...(unknown ? { outcomeUnknown: true } : {}) };
    }
  }

  /**
   * A publish given up while still in flight may land later (the client keeps retrying it): when it
   * does, mark the trigger published (the execution-log row is then owed by `owedBy`'s redelivery), so
   * a republisher after the grace period finds it published instead of sending a second copy. When it
   * is refused in the end, record the failed publish so others need not wait. Best effort, logged.
   */
  function settleLate(call: Promise<string>, ref: PhaseStateRef, doc: PhaseStateDoc, publishedBy: string | undefined, owedBy: string | undefined, log: Logger): void {
    const triggerId = doc.trigger?.triggerId ?? ref.id;
    const deadline = Date.now() + eventBudgetMs;
    call
      .then(
        async (messageId) => {
          await transact("firestore.markPublishedLate", ref, deadline, log, (current) => {
            const published = markPublished(current, messageId, clock(), publishedBy);
            return owedBy === undefined || published === current ? published : markLatchIncomplete(published, { publishFailed: false, rowsOwedBy: owedBy }, clock());
          });
          reportLatePublish(transition, doc.gameDate, triggerId, messageId, publishedBy, log);
        },
        async () => {
          await transact("firestore.markPublishFailed", ref, deadline, log, (current) =>
            markLatchIncomplete(current, { publishFailed: true, rowsOwedBy: null }, clock()),
          );
        },
      )
      .catch((error: unknown) => {
        // The trigger stays pending: a republisher after the grace period publishes it (maybe twice).
        log.error(`could not record the late outcome of the publish of ${triggerId}`, { error, trigger_id: triggerId, [LOG_FIELDS.transition]: transition.id });
      });
  }

  /** Someone other than the latching call publishes a pending trigger: only under the publish claim. */
  async function republishClaimed(
    ref: PhaseStateRef,
    triggerId: string,
    runId: string,
    now: Date,
    deadlineAt: number,
    log: Logger,
    owedBy?: string,
  ): Promise<TriggerOutcome | null> {
    const claimDeps = { db, claimsCollection: deps.claimsCollection, breaker: deps.firestoreBreaker, logger: log };
    let claimed;
    try {
      claimed = await claimTriggerPublish(
        claimDeps,
        ref,
        runId,
        now,
        DEFAULT_CLAIM_LEASE_MS,
        { attemptTimeoutMs: txTimeoutMs, deadlineAt },
      );
    } catch (error) {
      log.error(`could not claim the publish of pending trigger ${triggerId}; left pending`, { error, trigger_id: triggerId, [LOG_FIELDS.transition]: transition.id });
      return { triggerId, state: "pending", publishedNow: false, error, failedStep: "claim" };
    }
    if (claimed.kind === "already_published") return claimed.triggerId === null ? null : { triggerId: claimed.triggerId, state: "published", publishedNow: false };
    if (claimed.kind === "claimed_elsewhere") {
      // The holder publishes it, or, if it died holding the claim, the sweeper once the lease is over
      // (it reads every pending trigger). This message cannot help before then, even the latching one:
      // answered 500 it would only spend its delivery attempts and end in the dead-letter topic.
      log.info(`trigger ${claimed.triggerId} is being republished by another holder of its claim; this message's work is done`, { trigger_id: claimed.triggerId });
      return { triggerId: claimed.triggerId, state: "pending", publishedNow: false, owner: false };
    }
    const outcome = await publishUnderClaim(claimed.doc, ref, runId, now, deadlineAt, log, owedBy);
    // Certainly not sent: give the claim back, so the next delivery or sweep need not wait out its lease.
    if (outcome !== null && certainlyNotSent(outcome)) await releaseTriggerPublishClaim(claimDeps, outcome.triggerId, runId);
    return outcome;
  }

  /** The claimed republish itself: ask the execution log, then publish. */
  async function publishUnderClaim(
    doc: PhaseStateDoc,
    ref: PhaseStateRef,
    runId: string,
    now: Date,
    deadlineAt: number,
    log: Logger,
    owedBy: string | undefined,
  ): Promise<TriggerOutcome | null> {
    const triggerId = doc.trigger?.triggerId ?? ref.id;
    if (deps.executionLog !== undefined) {
      // A publish whose mark failed left the trigger pending but its execution-log row written: mark it, do not send it twice.
      try {
        const check = await checkExecutionLog(
          { db, breaker: deps.firestoreBreaker, logger: log, executionLog: deps.executionLog, publishGraceMs: deps.publishGraceMs },
          doc,
          ref,
          runId,
          now,
          { attemptTimeoutMs: txTimeoutMs, deadlineAt },
        );
        if (check.kind === "marked_published") return { triggerId: check.triggerId, state: "published", publishedNow: false };
        if (check.kind === "wait") return { triggerId: check.triggerId, state: "pending", publishedNow: false, error: check.error, failedStep: "check" };
      } catch (error) {
        log.error(`could not mark pending trigger ${triggerId} published from its execution-log row; left pending`, { error, trigger_id: triggerId, [LOG_FIELDS.transition]: transition.id });
        return { triggerId, state: "pending", publishedNow: false, error, failedStep: "check" };
      }
    }
    return publishPending(doc, ref, deadlineAt, { publishedBy: runId, logger: log, ...(owedBy === undefined ? {} : { owedBy }) });
  }

  return { publishPending, republishClaimed };
}

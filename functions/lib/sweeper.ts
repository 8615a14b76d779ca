// The stall sweeper: every few minutes, for each phase-state document of the recent game dates, and for
// every document whose trigger is pending whatever its date (a backfill's, older than the look-back),
// - re-publishes a trigger left pending (outbox) past the grace period (never shorter than the
//   latching call's own), or at once when that call recorded a refused publish; one run at a time;
// - applies time-based rules (phase 4->5 tiers, the phase 2->3 deadline) when no message arrives,
//   by re-running decide() at `now` in the single writer's transaction, then publishing;
// - alerts once per latch when a phase has not triggered within transition.stallAfterMinutes;
// - upserts the aggregate (phase_completion_status) of every trigger it latches: one MERGE per latch.
// It decides nothing itself: core/sweep-rules.ts plans, core/phase-state.ts rules write.
import type { Firestore } from "@google-cloud/firestore";
import type { Pipeline, Transition } from "../core/pipeline-types.ts";
import { SCHEDULED_LOG_EVENTS } from "../core/scheduled-config.ts";
import { statusRowOf } from "../core/phase-state.ts";
import type { BigQueryStore } from "./bigquery-store.ts";
import { lookbackRange, planSweep, stallAlertId, sweepDocuments, sweepPendingGraceMs, type SweepPlan, type SweepPolicy } from "../core/sweep-rules.ts";
import { LOG_EVENT_KEY, LOG_FIELDS } from "../core/log-events.ts";
import type { AlertLedger } from "./alert-ledger.ts";
import type { OutboxRepublisher, RepublishOutcome } from "./outbox-republisher.ts";
import { PENDING_TRIGGERS_PER_RUN, readPendingTriggers, readPhaseStates, type PhaseStateTransactions } from "./phase-state-transactions.ts";
import type { Alerter } from "./slack.ts";
import type { Logger } from "./logger.ts";
import { describeError, errorType } from "./errors.ts";
import { ConfigurationError } from "../core/error-family.ts";
import type { Breaker } from "./circuit-breaker.ts";
import { DEFAULT_TRANSACTION_TIMEOUT_MS, publishGraceMsFor } from "./completion-tracker.ts";

export interface SweeperDeps {
  db: Firestore;
  stateCollection: string;
  /** The Firestore breaker shared with the transactions. */
  breaker: Breaker;
  pipeline: Pipeline;
  transactions: PhaseStateTransactions;
  republisher: OutboxRepublisher;
  stallLedger: AlertLedger;
  /** Where the aggregate of a trigger the sweeper latches goes. */
  store: Pick<BigQueryStore, "upsertStatus">;
  alerter: Alerter;
  logger: Logger;
  policy: Omit<SweepPolicy, "publishGraceMs"> & { lookbackDays: number };
  /**
   * How long a pending trigger belongs to the orchestrator call that latched it (default: the
   * tracker's publishGraceMsFor with its default transaction bound, as the orchestrators run).
   */
  publishGraceMs?: number;
}

export interface SweepFailure {
  docId: string;
  step: "plan" | "latch" | "publish" | "execution_log" | "aggregate" | "stall_alert";
  error: string;
  errorType: string;
}

export interface SweepReport {
  ok: boolean;
  runId: string;
  now: string;
  fromDate: string;
  toDate: string;
  docsChecked: number;
  /** Of those, documents older than the look-back, taken because their trigger is pending. */
  pendingBeyondLookback: number;
  /** Triggers this run published (re-published pending ones and ones it latched). */
  published: string[];
  /** Triggers latched by this run because time made them due. */
  latched: { docId: string; triggerId: string; reason: string; degraded: boolean }[];
  /** Pending triggers another run was publishing, or that were published meanwhile. */
  skipped: { triggerId: string | null; outcome: "already_published" | "claimed_elsewhere" }[];
  stalled: { docId: string; missing: string[]; minutesSinceFirstCompletion: number; alerted: boolean }[];
  /** When time alone next makes a waiting latch fire. */
  nextDeadlines: { docId: string; at: string }[];
  failures: SweepFailure[];
}


export function createSweeper(deps: SweeperDeps) {
  const { logger, pipeline } = deps;
  const transitions = new Map(pipeline.transitions.map((t) => [t.id, t]));
  const policy: SweepPolicy = { ...deps.policy, publishGraceMs: deps.publishGraceMs ?? publishGraceMsFor(DEFAULT_TRANSACTION_TIMEOUT_MS) };
  const graceMs = sweepPendingGraceMs(policy);
  if (graceMs > policy.pendingGraceMinutes * 60_000) {
    // A shorter grace could race the latching call's own publish and send the trigger twice.
    logger.warning(`sweeper: pending grace of ${policy.pendingGraceMinutes} min is shorter than the latching call's publish grace; waiting ${Math.ceil(graceMs / 1000)} s instead`, {
      pending_grace_minutes: policy.pendingGraceMinutes,
      effective_grace_ms: graceMs,
    });
  }

  const reader = { db: deps.db, stateCollection: deps.stateCollection, breaker: deps.breaker, logger };
  const readDocs = async (fromDate: string, toDate: string) => {
    const [inLookback, pending] = await Promise.all([readPhaseStates(reader, fromDate, toDate), readPendingTriggers(reader)]);
    if (pending.length >= PENDING_TRIGGERS_PER_RUN) {
      logger.warning(`sweeper: ${pending.length} or more pending triggers; this run takes ${PENDING_TRIGGERS_PER_RUN}, the next runs the rest`, { pending_triggers: pending.length });
    }
    return sweepDocuments(inLookback, pending);
  };

  return {
    /** One sweep at `now`. Throws only when the documents cannot be read at all. */
    async sweep(now: Date, runId: string): Promise<SweepReport> {
      const { fromDate, toDate } = lookbackRange(now, pipeline.timeZone, deps.policy.lookbackDays);
      const { docs, beyondLookback } = await readDocs(fromDate, toDate);
      const report: SweepReport = {
        ok: true,
        runId,
        now: now.toISOString(),
        fromDate,
        toDate,
        docsChecked: docs.length,
        pendingBeyondLookback: beyondLookback,
        published: [],
        latched: [],
        skipped: [],
        stalled: [],
        nextDeadlines: [],
        failures: [],
      };
      const fail = (docId: string, step: SweepFailure["step"], error: unknown) => {
        report.failures.push({ docId, step, error: describeError(error), errorType: errorType(error) });
        logger.error(`sweeper: ${step} failed for ${docId}`, { error, doc_id: docId, step, run_id: runId });
      };

      for (const doc of docs) {
        const transition = transitions.get(doc.transitionId);
        const docId = `${doc.transitionId}__${doc.gameDate}__${doc.latchMode}`;
        if (transition === undefined) {
          // A document of a transition the deployed pipeline no longer lists: the deployment, not the data, decides.
          fail(docId, "plan", new ConfigurationError(`transition "${doc.transitionId}" is not in this function's pipeline`));
          continue;
        }
        let plan: SweepPlan;
        try {
          plan = planSweep(doc, transition, now, pipeline.timeZone, policy);
        } catch (error) {
          fail(docId, "plan", error);
          continue;
        }
        if (plan.nextDeadline !== null) report.nextDeadlines.push({ docId, at: plan.nextDeadline });
        if (plan.latch) await latchAndPublish(transition, plan, now, runId, report, fail);
        else if (plan.republish) await publish(transition, plan, now, runId, report, fail);
        if (plan.stall) await alertStall(transition, plan, now, report, fail);
      }
      report.ok = report.failures.length === 0;
      await summarize(report);
      return report;
    },
  };

  async function latchAndPublish(
    transition: Transition,
    plan: SweepPlan,
    now: Date,
    runId: string,
    report: SweepReport,
    fail: (docId: string, step: SweepFailure["step"], error: unknown) => void,
  ): Promise<void> {
    let latched;
    try {
      latched = await deps.transactions.reevaluate(transition, deps.transactions.refOf(transition.id, plan.gameDate, plan.latchMode), now);
    } catch (error) {
      fail(plan.docId, "latch", error);
      return;
    }
    const trigger = latched.doc?.trigger ?? null;
    if (latched.latchedNow && trigger !== null) {
      report.latched.push({ docId: plan.docId, triggerId: trigger.triggerId, reason: trigger.reason, degraded: trigger.degraded });
      logger.notice(`sweeper latched ${trigger.triggerId} (${trigger.reason}): time made it due with no new message`, {
        [LOG_FIELDS.transition]: transition.id,
        trigger_id: trigger.triggerId,
        trigger_reason: trigger.reason,
        missing_processors: trigger.missing,
        run_id: runId,
      });
      if (trigger.degraded) {
        // The orchestrator alerts a degraded trigger it fires; this latch is the sweeper's, so is the alert.
        await deps.alerter.alert({
          severity: "warning",
          subject: { kind: "missing_processors", transition: transition.id, gameDate: plan.gameDate, mode: plan.latchMode, item: trigger.triggerId },
          title: `${transition.id} triggered without every processor (${trigger.reason})`,
          phase: transition.phaseWireName,
          gameDate: plan.gameDate,
          correlationId: String(trigger.payload.correlation_id ?? ""),
          errorType: "missing_processors",
          details: { missing: trigger.missing, trigger_id: trigger.triggerId, latched_by: "sweeper" },
        });
      }
    }
    if (trigger !== null && trigger.state === "pending") await publish(transition, plan, now, runId, report, fail);
    // The aggregate changes with the latch (triggered, trigger id, reason): one MERGE, by the latcher.
    // A failure leaves the run not ok (500, alerted); the reconciler finds a stale aggregate later.
    if (latched.latchedNow && latched.doc !== null && latched.decision !== null) {
      try {
        await deps.store.upsertStatus(statusRowOf(latched.doc, transition, latched.decision));
      } catch (error) {
        fail(plan.docId, "aggregate", error);
      }
    }
  }

  async function publish(
    transition: Transition,
    plan: SweepPlan,
    now: Date,
    runId: string,
    report: SweepReport,
    fail: (docId: string, step: SweepFailure["step"], error: unknown) => void,
  ): Promise<void> {
    let result: RepublishOutcome;
    try {
      result = await deps.republisher.republish(transition.id, deps.transactions.refOf(transition.id, plan.gameDate, plan.latchMode), runId, now);
    } catch (error) {
      fail(plan.docId, "publish", error);
      return;
    }
    switch (result.outcome) {
      case "published":
        report.published.push(result.triggerId);
        if (result.executionLogError !== undefined) fail(plan.docId, "execution_log", result.executionLogError);
        if (result.statusError !== undefined) fail(plan.docId, "aggregate", result.statusError);
        return;
      case "failed":
        fail(plan.docId, "publish", result.error);
        return;
      case "already_published":
      case "claimed_elsewhere":
        report.skipped.push({ triggerId: result.triggerId, outcome: result.outcome });
        return;
    }
  }

  async function alertStall(
    transition: Transition,
    plan: SweepPlan,
    now: Date,
    report: SweepReport,
    fail: (docId: string, step: SweepFailure["step"], error: unknown) => void,
  ): Promise<void> {
    const stall = plan.stall!;
    const entry = { docId: plan.docId, missing: stall.missing, minutesSinceFirstCompletion: stall.minutesSinceFirstCompletion, alerted: false };
    report.stalled.push(entry);
    logger.warning(`${transition.id} ${plan.gameDate} (${plan.latchMode}) has not triggered ${stall.minutesSinceFirstCompletion} min after its first completion`, {
      [LOG_EVENT_KEY]: SCHEDULED_LOG_EVENTS.phaseStalled,
      [LOG_FIELDS.transition]: transition.id,
      game_date: plan.gameDate,
      mode: plan.latchMode,
      missing_processors: stall.missing,
      minutes_since_first_completion: stall.minutesSinceFirstCompletion,
    });
    const id = stallAlertId(plan);
    try {
      const first = await deps.stallLedger.claim(id, { doc_id: plan.docId, missing: stall.missing }, now);
      if (!first) return;
      const sent = await deps.alerter.alert({
        severity: "error",
        subject: { kind: "phase_stalled", transition: transition.id, gameDate: plan.gameDate, mode: plan.latchMode },
        title: `${transition.id} ${plan.gameDate} (${plan.latchMode}) stalled: no trigger ${stall.minutesSinceFirstCompletion} min after the first completion`,
        phase: transition.phaseWireName,
        gameDate: plan.gameDate,
        errorType: "phase_stalled",
        details: {
          missing: stall.missing,
          stall_after_minutes: stall.stallAfterMinutes,
          waiting_reason: plan.decision?.reason ?? null,
          runbook: "docs/runbooks/scheduled-jobs.md",
        },
      });
      entry.alerted = sent.delivered || sent.suppressed;
      // Not delivered (already logged at ERROR by the alerter): forget the claim so the next run tries again.
      if (!entry.alerted) await deps.stallLedger.release(id);
    } catch (error) {
      fail(plan.docId, "stall_alert", error);
    }
  }

  async function summarize(report: SweepReport): Promise<void> {
    const counts = {
      docs_checked: report.docsChecked,
      pending_beyond_lookback: report.pendingBeyondLookback,
      published: report.published.length,
      latched: report.latched.length,
      skipped: report.skipped.length,
      stalled: report.stalled.length,
      failures: report.failures.length,
    };
    const fields = { [LOG_EVENT_KEY]: SCHEDULED_LOG_EVENTS.sweepCompleted, run_id: report.runId, ...counts, from_date: report.fromDate, to_date: report.toDate };
    if (report.ok) {
      logger.info(`sweep done: ${JSON.stringify(counts)}`, fields);
      return;
    }
    logger.error(`sweep left work undone: ${JSON.stringify(counts)}`, { ...fields, failed: report.failures });
    await deps.alerter.alert({
      severity: "error",
      subject: { kind: "sweep_incomplete" },
      title: `Sweeper could not finish ${report.failures.length} item(s)`,
      errorType: "sweep_incomplete",
      details: { failures: report.failures.slice(0, 10), run_id: report.runId },
    });
  }
}

export type Sweeper = ReturnType<typeof createSweeper>;

// The reconciler: compares Firestore completion state with BigQuery phase_completions over the recent
// game dates and repairs the missing side, idempotently.
// - BigQuery-only completion -> recorded into Firestore through the single writer's rules
//   (applyCompletion -> decide -> latch, one transaction); a trigger that becomes due is latched and
//   published through the outbox (tracker.publishPending, behind the sweeper's publish claim).
// - Firestore-only entry -> insertCompletion with the same deterministic insert id.
// - A latch it makes upserts the aggregate (one MERGE per latch change).
// - A published trigger with no phase_completion_status row (the call that latched it died before its
//   MERGE) -> one MERGE of the row as of the latch (statusRowOf).
// - A published trigger with no phase_execution_log row (its publisher could not write it, and the
//   message that owed it is gone) -> insertExecutionLog, with the row's deterministic insert id.
//   insertAll, not DML: the log is streamed, and DML could not touch rows in the streaming buffer.
// What it finds is logged as one structured line, and sent to Slack when it repaired anything or cannot.
import type { Firestore } from "@google-cloud/firestore";
import type { Pipeline } from "../core/pipeline-types.ts";
import { planExecutionLogRepairs, planReconciliation, planStatusRepairs, RECONCILE_SETTLE_MS, type ReconcilePlan } from "../core/reconcile-rules.ts";
import { executionLogRowOf, phaseStateDocId, statusRowOf } from "../core/phase-state.ts";
import { SCHEDULED_LOG_EVENTS } from "../core/scheduled-config.ts";
import { lookbackRange } from "../core/sweep-rules.ts";
import { LOG_EVENT_KEY, LOG_FIELDS } from "../core/log-events.ts";
import type { BigQueryStore, ExecutionLogReader, StatusReader } from "./bigquery-store.ts";
import { completionRowInsertId } from "../core/completion-row.ts";
import type { OutboxRepublisher } from "./outbox-republisher.ts";
import {
  OLDER_DATES_PER_RUN,
  readGameDatesWrittenSince,
  readPhaseStates,
  RECENT_DOCUMENTS_SCANNED_PER_RUN,
  type PhaseStateTransactions,
} from "./phase-state-transactions.ts";
import type { Alerter } from "./slack.ts";
import type { Logger } from "./logger.ts";
import { describeError, errorType } from "./errors.ts";
import type { Breaker } from "./circuit-breaker.ts";

export interface ReconcilerDeps {
  db: Firestore;
  stateCollection: string;
  /** The Firestore breaker shared with the transactions. */
  breaker: Breaker;
  store: Pick<BigQueryStore, "listCompletions" | "insertCompletion" | "upsertStatus" | "insertExecutionLog"> & ExecutionLogReader & StatusReader;
  /** Written into an execution-log row the reconciler repairs (who wrote it). */
  identity: { functionName: string; codeHash: string };
  pipeline: Pipeline;
  transactions: PhaseStateTransactions;
  republisher: OutboxRepublisher;
  alerter: Alerter;
  logger: Logger;
  lookbackDays: number;
}

export interface ReconcileFailure {
  direction: "to_firestore" | "to_bigquery" | "publish" | "execution_log" | "aggregate";
  key: string;
  error: string;
  errorType: string;
}

export interface ReconcileReport {
  ok: boolean;
  runId: string;
  now: string;
  fromDate: string;
  toDate: string;
  /** Game dates older than the look-back whose documents were written within it (a backfill): reconciled one by one. */
  olderDates: string[];
  checked: ReconcilePlan["checked"];
  /** Completions BigQuery had and Firestore lacked, now recorded in Firestore ("docId/processor"). */
  repairedFirestore: string[];
  /** Entries Firestore had and BigQuery lacked, now inserted (their insert ids). */
  repairedBigQuery: string[];
  /** Triggers latched (and published, see `published`) because a repaired completion made them due. */
  latched: string[];
  published: string[];
  /** Trigger ids whose missing phase_execution_log row was inserted. */
  repairedExecutionLog: string[];
  /** Trigger ids whose missing phase_completion_status row was merged. */
  repairedStatus: string[];
  unrepairable: ReconcilePlan["unrepairable"];
  failures: ReconcileFailure[];
}



export function createReconciler(deps: ReconcilerDeps) {
  const { logger, pipeline } = deps;
  const transitions = new Map(pipeline.transitions.map((t) => [t.id, t]));

  const reader = { db: deps.db, stateCollection: deps.stateCollection, breaker: deps.breaker, logger };
  const readDocs = (fromDate: string, toDate: string) => readPhaseStates(reader, fromDate, toDate);
  const readOlderDatesTouchedSince = (since: Date, before: string) => readGameDatesWrittenSince(reader, since.toISOString(), before);

  return {
    /** One reconciliation at `now`. Throws only when either store cannot be read at all. */
    async reconcile(now: Date, runId: string): Promise<ReconcileReport> {
      const { fromDate, toDate } = lookbackRange(now, pipeline.timeZone, deps.lookbackDays);
      // Dates older than the look-back that were written to lately (a backfill): each reconciled too.
      const older = await readOlderDatesTouchedSince(new Date(now.getTime() - deps.lookbackDays * 86_400_000), fromDate);
      if (older.truncated) {
        logger.warning(
          `reconciler: more older dates were written to lately than one run takes (${OLDER_DATES_PER_RUN} dates, ${RECENT_DOCUMENTS_SCANNED_PER_RUN} documents scanned); the rest wait for later runs`,
          { run_id: runId, older_dates: older.dates },
        );
      }
      const olderDates = older.dates;
      const report: ReconcileReport = {
        ok: true,
        runId,
        now: now.toISOString(),
        fromDate,
        toDate,
        olderDates,
        checked: { firestoreDocs: 0, firestoreEntries: 0, bigqueryRows: 0 },
        repairedFirestore: [],
        repairedBigQuery: [],
        latched: [],
        published: [],
        repairedExecutionLog: [],
        repairedStatus: [],
        unrepairable: [],
        failures: [],
      };
      const fail = (direction: ReconcileFailure["direction"], key: string, error: unknown) => {
        report.failures.push({ direction, key, error: describeError(error), errorType: errorType(error) });
        logger.error(`reconciler: ${direction} failed for ${key}`, { error, key, direction, run_id: runId });
      };
      await reconcileRange(fromDate, toDate, now, runId, report, fail);
      for (const date of olderDates) await reconcileRange(date, date, now, runId, report, fail);
      report.ok = report.failures.length === 0 && report.unrepairable.length === 0;
      await summarize(report);
      return report;
    },
  };

  /** One game-date range: both stores read, compared and repaired; results added to `report`. */
  async function reconcileRange(
    fromDate: string,
    toDate: string,
    now: Date,
    runId: string,
    report: ReconcileReport,
    fail: (direction: ReconcileFailure["direction"], key: string, error: unknown) => void,
  ): Promise<void> {
    const [docs, rows] = await Promise.all([readDocs(fromDate, toDate), deps.store.listCompletions({ fromDate, toDate })]);
    const plan = planReconciliation({
      transitions: pipeline.transitions,
      docs,
      rows,
      insertIdOf: completionRowInsertId,
      settledBefore: new Date(now.getTime() - RECONCILE_SETTLE_MS).toISOString(),
    });
    for (const key of ["firestoreDocs", "firestoreEntries", "bigqueryRows"] as const) report.checked[key] += plan.checked[key];
    report.unrepairable.push(...plan.unrepairable);
    for (const repair of plan.toFirestore) {
      const transition = transitions.get(repair.transitionId)!;
      const key = `${repair.docId}/${repair.completion.processor}`;
      let outcome;
      try {
        outcome = await deps.transactions.recordCompletion(transition, repair.latchMode, repair.completion, new Date(repair.recordedAt), now);
      } catch (error) {
        fail("to_firestore", key, error);
        continue;
      }
      if (outcome.changed) {
        report.repairedFirestore.push(key);
        logRepair("to_firestore", repair.transitionId, repair.completion.processor, key);
      }
      const trigger = outcome.doc?.trigger ?? null;
      if (!outcome.latchedNow || trigger === null) continue;
      report.latched.push(trigger.triggerId);
      if (outcome.doc !== null && outcome.decision !== null) {
        try {
          await deps.store.upsertStatus(statusRowOf(outcome.doc, transition, outcome.decision));
        } catch (error) {
          fail("aggregate", trigger.triggerId, error);
        }
      }
      if (trigger.degraded) {
        await deps.alerter.alert({
          severity: "warning",
          subject: { kind: "missing_processors", transition: transition.id, gameDate: repair.gameDate, mode: repair.latchMode, item: trigger.triggerId },
          title: `${transition.id} triggered without every processor (${trigger.reason})`,
          phase: transition.phaseWireName,
          gameDate: repair.gameDate,
          correlationId: repair.completion.correlationId,
          errorType: "missing_processors",
          details: { missing: trigger.missing, trigger_id: trigger.triggerId, latched_by: "reconciler" },
        });
      }
      try {
        const published = await deps.republisher.republish(transition.id, outcome.ref, runId, now);
        if (published.outcome === "published") {
          report.published.push(published.triggerId);
          if (published.executionLogError !== undefined) fail("execution_log", trigger.triggerId, published.executionLogError);
          if (published.statusError !== undefined) fail("aggregate", trigger.triggerId, published.statusError);
        }
        else if (published.outcome === "failed") fail("publish", trigger.triggerId, published.error);
      } catch (error) {
        fail("publish", trigger.triggerId, error);
      }
    }

    for (const repair of plan.toBigQuery) {
      try {
        await deps.store.insertCompletion({ ...repair.row });
        report.repairedBigQuery.push(repair.insertId);
        logRepair("to_bigquery", repair.row.transition_id, repair.row.processor_name, `${repair.docId}/${repair.row.processor_name}`);
      } catch (error) {
        fail("to_bigquery", `${repair.docId}/${repair.row.processor_name}`, error);
      }
    }

    await repairExecutionLog(docs, fromDate, toDate, now, report, fail);
    await repairStatus(docs, fromDate, toDate, now, report, fail);

  }


  /** Published triggers (settled) without an execution-log row get it, with its deterministic insert id. */
  async function repairExecutionLog(
    docs: Awaited<ReturnType<typeof readDocs>>,
    fromDate: string,
    toDate: string,
    now: Date,
    report: ReconcileReport,
    fail: (direction: ReconcileFailure["direction"], key: string, error: unknown) => void,
  ): Promise<void> {
    let logged: Set<string>;
    try {
      logged = await deps.store.listExecutionLogTriggerIds({ fromDate, toDate });
    } catch (error) {
      fail("execution_log", `${fromDate}..${toDate}`, error);
      return;
    }
    const repairs = planExecutionLogRepairs({ docs, loggedTriggerIds: logged, settledBefore: new Date(now.getTime() - RECONCILE_SETTLE_MS).toISOString() });
    const byId = new Map(docs.map((d) => [phaseStateDocId(d.transitionId, d.gameDate, d.latchMode), d]));
    for (const repair of repairs) {
      const doc = byId.get(repair.docId);
      const transition = transitions.get(repair.transitionId);
      if (doc === undefined || transition === undefined) continue;
      try {
        await deps.store.insertExecutionLog(executionLogRowOf(doc, transition, deps.identity));
        report.repairedExecutionLog.push(repair.triggerId);
        logger.notice(`reconciler repaired the execution-log row of ${repair.triggerId}`, {
          [LOG_EVENT_KEY]: SCHEDULED_LOG_EVENTS.reconcileRepaired,
          [LOG_FIELDS.transition]: repair.transitionId,
          direction: "execution_log",
          trigger_id: repair.triggerId,
          key: repair.docId,
        });
      } catch (error) {
        fail("execution_log", repair.triggerId, error);
      }
    }
  }

  /** Published triggers (settled) without an aggregate row get it: one MERGE per repair. */
  async function repairStatus(
    docs: Awaited<ReturnType<typeof readDocs>>,
    fromDate: string,
    toDate: string,
    now: Date,
    report: ReconcileReport,
    fail: (direction: ReconcileFailure["direction"], key: string, error: unknown) => void,
  ): Promise<void> {
    let present: Set<string>;
    try {
      present = await deps.store.listStatusTriggerIds({ fromDate, toDate });
    } catch (error) {
      fail("aggregate", `${fromDate}..${toDate}`, error);
      return;
    }
    const repairs = planStatusRepairs({ docs, transitions: pipeline.transitions, statusTriggerIds: present, settledBefore: new Date(now.getTime() - RECONCILE_SETTLE_MS).toISOString() });
    for (const repair of repairs) {
      try {
        await deps.store.upsertStatus(repair.row);
        report.repairedStatus.push(repair.triggerId);
        logger.notice(`reconciler repaired the aggregate row of ${repair.triggerId}`, {
          [LOG_EVENT_KEY]: SCHEDULED_LOG_EVENTS.reconcileRepaired,
          [LOG_FIELDS.transition]: repair.transitionId,
          direction: "aggregate",
          trigger_id: repair.triggerId,
          key: repair.docId,
        });
      } catch (error) {
        fail("aggregate", repair.triggerId, error);
      }
    }
  }

  function logRepair(direction: "to_firestore" | "to_bigquery", transitionId: string, processor: string, key: string): void {
    logger.notice(`reconciler repaired ${key} (${direction})`, {
      [LOG_EVENT_KEY]: SCHEDULED_LOG_EVENTS.reconcileRepaired,
      [LOG_FIELDS.transition]: transitionId,
      direction,
      processor,
      key,
    });
  }

  async function summarize(report: ReconcileReport): Promise<void> {
    const counts = {
      firestore_docs: report.checked.firestoreDocs,
      firestore_entries: report.checked.firestoreEntries,
      bigquery_rows: report.checked.bigqueryRows,
      repaired_firestore: report.repairedFirestore.length,
      repaired_bigquery: report.repairedBigQuery.length,
      latched: report.latched.length,
      published: report.published.length,
      repaired_execution_log: report.repairedExecutionLog.length,
      repaired_status: report.repairedStatus.length,
      unrepairable: report.unrepairable.length,
      failures: report.failures.length,
    };
    const fields = { [LOG_EVENT_KEY]: SCHEDULED_LOG_EVENTS.reconcileCompleted, run_id: report.runId, from_date: report.fromDate, to_date: report.toDate, older_dates: report.olderDates, ...counts };
    if (report.ok) logger.info(`reconciliation done: ${JSON.stringify(counts)}`, fields);
    else logger.error(`reconciliation left work undone: ${JSON.stringify(counts)}`, { ...fields, failed: report.failures, unrepairable_items: report.unrepairable });

    const repaired = counts.repaired_firestore + counts.repaired_bigquery + counts.repaired_execution_log + counts.repaired_status;
    if (repaired === 0 && report.ok) return;
    await deps.alerter.alert({
      severity: report.ok ? "warning" : "error",
      subject: { kind: report.ok ? "reconcile_repaired" : "reconcile_incomplete" },
      title: report.ok
        ? `Reconciler repaired ${repaired} record(s) between Firestore and BigQuery`
        : `Reconciler could not repair ${counts.failures + counts.unrepairable} item(s)`,
      errorType: report.ok ? "reconcile_repaired" : "reconcile_incomplete",
      details: {
        ...counts,
        from_date: report.fromDate,
        to_date: report.toDate,
        sample_repairs: [...report.repairedFirestore, ...report.repairedBigQuery, ...report.repairedExecutionLog, ...report.repairedStatus].slice(0, 10),
        failures: report.failures.slice(0, 5),
        unrepairable: report.unrepairable.slice(0, 5),
        run_id: report.runId,
      },
    });
  }
}

export type Reconciler = ReturnType<typeof createReconciler>;

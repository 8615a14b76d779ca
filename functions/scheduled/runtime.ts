// Builds a scheduled function (the sweeper or the reconciler) from its environment on the composition
// root the orchestrators share (functions/lib/function-runtime.ts): POST from Cloud Scheduler runs one
// job, GET /health answers from the cached health checker. A broken environment never crashes the
// module at import (docs/ARCHITECTURE.md FM1): every request then gets 500 (POST) / 503 (GET) and a CRITICAL log.
import { randomUUID } from "node:crypto";
import type { Request, Response } from "@google-cloud/functions-framework";
import { transitionById } from "../core/pipeline.ts";
import { parseScheduledSettings, scheduledCollectionNames } from "../core/scheduled-config.ts";
import { ContractViolationError } from "../core/error-family.ts";
import { createLogger, parseTraceHeaders, type Logger } from "../lib/logger.ts";
import { eventBudgetMs, PLATFORM_DEFAULT_TIMEOUT_MS, runWithDeadline } from "../lib/retry.ts";
import type { Alerter } from "../lib/slack.ts";
import { bigqueryCheck, createHealthChecker, firestoreCheck, pubsubPublishCheck, type HealthChecker } from "../lib/health.ts";
import { createCompletionTracker, DEFAULT_TRANSACTION_TIMEOUT_MS, publishGraceMsFor, type CompletionTracker } from "../lib/completion-tracker.ts";
import { checkOnFirstUse } from "../lib/lazy-clients.ts";
import { answerHealth, createFunctionClients, isHealthRequest, readFunctionEnv, startOrMisconfigured } from "../lib/function-runtime.ts";
import { createPhaseStateTransactions } from "../lib/phase-state-transactions.ts";
import { createOutboxRepublisher } from "../lib/outbox-republisher.ts";
import { createAlertLedger } from "../lib/alert-ledger.ts";
import { createSweeper } from "../lib/sweeper.ts";
import { createReconciler } from "../lib/reconciler.ts";

export type ScheduledJobKind = "sweeper" | "reconciler";
export type HttpHandler = (req: Request, res: Response) => Promise<void>;


/** What one run reports; `ok` false means work was left undone (answered 500 so Cloud Scheduler retries). */
export interface JobReport {
  ok: boolean;
}

export interface ScheduledJob {
  kind: ScheduledJobKind;
  functionName: string;
  projectId: string;
  run(now: Date, runId: string): Promise<JobReport>;
  health: HealthChecker;
  alerter: Alerter;
  logger: Logger;
  clock?: () => Date;
  /** What one run may spend, from the declared timeout (default: the budget of the platform's default timeout). */
  eventBudgetMs?: number;
}

export function createScheduledFromEnv(
  kind: ScheduledJobKind,
  env: Record<string, string | undefined> = process.env,
  baseLogger: Logger = createLogger({ function: env.FUNCTION_NAME ?? `phase-${kind}` }),
): HttpHandler {
  return startOrMisconfigured(kind, baseLogger, () => createScheduledHandler(buildScheduledJob(kind, env, baseLogger)));
}

/** The HTTP face of a scheduled job. */
export function createScheduledHandler(job: ScheduledJob): HttpHandler {
  const clock = job.clock ?? (() => new Date());
  return async (req, res) => {
    if (isHealthRequest(req)) {
      await answerHealth(job.health, res);
      return;
    }
    if (req.method !== "POST") {
      res.status(405).json({ error: `POST runs the ${job.kind} (Cloud Scheduler); GET /health` });
      return;
    }
    const runId = randomUUID();
    const log = job.logger.withTrace(parseTraceHeaders(req.headers), job.projectId).child({ run_id: runId });
    try {
      // Every retry inside honours this deadline, so the run answers before the platform's timeout.
      const budgetMs = job.eventBudgetMs ?? eventBudgetMs(PLATFORM_DEFAULT_TIMEOUT_MS);
      const report = await runWithDeadline(Date.now() + budgetMs, () => job.run(clock(), runId));
      res.status(report.ok ? 200 : 500).json(report);
    } catch (error) {
      // A store could not be read at all: nothing was checked. 500, so Cloud Scheduler retries; alerted.
      log.error(`${job.kind} run failed before it could check anything`, { error });
      await job.alerter.alert({
        severity: "error",
        subject: { kind: "scheduled_run_failed" },
        title: `${job.functionName} run failed`,
        error,
        details: { run_id: runId },
      });
      if (!res.headersSent) res.status(500).json({ status: "error", run_id: runId, error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** The job with its clients, from the environment; throws on any misconfiguration. Tests run it with their own `now`. */
export function buildScheduledJob(kind: ScheduledJobKind, env: Record<string, string | undefined>, baseLogger: Logger): ScheduledJob & { close(): Promise<void> } {
  const { rt, pipeline, retention, collections, budgetMs } = readFunctionEnv(env, "scheduled");
  const settings = parseScheduledSettings(env);
  const logger = baseLogger.child({ function: rt.functionName, code_hash: rt.codeHash });
  const ownCollections = scheduledCollectionNames(rt.firestorePrefix);
  const { db, pubsub, publisher, bigquery, store, firestoreBreaker: breaker, alerter, close } = createFunctionClients(rt, env, logger);

  // One tracker per transition: the trigger's publish and mark-published stay the tracker's own.
  const trackers = new Map<string, CompletionTracker>(
    pipeline.transitions.map((transition) => [
      transition.id,
      createCompletionTracker({
        db,
        stateCollection: collections.phaseState,
        sink: store,
        publisher,
        firestoreBreaker: breaker,
        logger: logger.child({ phase: transition.phaseWireName }),
        transition,
        timeZone: pipeline.timeZone,
        functionName: rt.functionName,
        codeHash: rt.codeHash,
        eventBudgetMs: budgetMs,
        phaseStateRetentionDays: retention.phaseState,
      }),
    ]),
  );
  const transactions = createPhaseStateTransactions({
    db,
    stateCollection: collections.phaseState,
    breaker,
    logger,
    timeZone: pipeline.timeZone,
    phaseStateRetentionDays: retention.phaseState,
  });
  const republisher = createOutboxRepublisher({
    db,
    claimsCollection: ownCollections.publishClaims,
    retentionDays: retention.bookkeeping,
    breaker,
    logger,
    transitionFor: (id) => transitionById(pipeline, id),
    executionLog: store,
    // Trackers here keep the default transaction bound, as the orchestrators run.
    publishGraceMs: publishGraceMsFor(DEFAULT_TRANSACTION_TIMEOUT_MS),
    alerter,
    identity: { functionName: rt.functionName, codeHash: rt.codeHash },
    trackerFor: (id) => {
      const tracker = trackers.get(id);
      if (tracker === undefined) throw new ContractViolationError(`no tracker for transition "${id}"`);
      return tracker;
    },
  });
  const health = createHealthChecker({
    service: rt.functionName,
    version: rt.codeHash,
    logger,
    checks: {
      firestore: firestoreCheck(db),
      bigquery: checkOnFirstUse(async () => bigqueryCheck(await bigquery(), rt.bigqueryDataset)),
      // Both jobs may publish a trigger of any transition.
      ...Object.fromEntries(pipeline.transitions.map((t) => [`pubsub:${t.outputTopicName}`, checkOnFirstUse(async () => pubsubPublishCheck(await pubsub(), t.outputTopicName, logger))])),
    },
  });

  const common = { functionName: rt.functionName, projectId: rt.projectId, health, alerter, logger, eventBudgetMs: budgetMs };
  if (kind === "sweeper") {
    const sweeper = createSweeper({
      db,
      stateCollection: collections.phaseState,
      breaker,
      pipeline,
      transactions,
      republisher,
      stallLedger: createAlertLedger({ db, collection: ownCollections.stallAlerts, breaker, logger, retentionDays: retention.bookkeeping }),
      store,
      alerter,
      logger,
      policy: { pendingGraceMinutes: settings.pendingGraceMinutes, lookbackDays: settings.lookbackDays },
    });
    return { kind, ...common, close, run: (now, runId) => sweeper.sweep(now, runId) };
  }
  const reconciler = createReconciler({
    db,
    stateCollection: collections.phaseState,
    breaker,
    store,
    identity: { functionName: rt.functionName, codeHash: rt.codeHash },
    pipeline,
    transactions,
    republisher,
    alerter,
    logger,
    lookbackDays: settings.lookbackDays,
  });
  return { kind, ...common, close, run: (now, runId) => reconciler.reconcile(now, runId) };
}

// The HTTP face of an orchestrator: POST takes a Pub/Sub push envelope, GET /health answers from the
// cached health checker. The response code is the contract with Pub/Sub: 2xx only when the work is
// done (or the message is safely quarantined); anything else is non-2xx, so Pub/Sub redelivers.
import type { Request, Response } from "@google-cloud/functions-framework";
import type { Transition } from "../core/pipeline-types.ts";
import type { ContractError } from "../core/contracts.ts";
import { decodePushEnvelope, parseCompletionForTransition } from "../core/contracts.ts";
import type { ResolvedCompletion } from "../core/phase-state.ts";
import { LOG_EVENT_KEY, LOG_EVENTS, LOG_FIELDS } from "../core/log-events.ts";
import type { CompletionTracker, RawFacts, TrackResult } from "./completion-tracker.ts";
import { quarantineDocId, type Quarantine } from "./quarantine.ts";
import type { HealthChecker } from "./health.ts";
import { answerHealth, isHealthRequest } from "./function-runtime.ts";
import type { Alerter } from "./slack.ts";
import type { Logger } from "./logger.ts";
import { parseTraceHeaders } from "./logger.ts";

export interface OrchestratorDeps {
  transition: Transition;
  functionName: string;
  projectId: string;
  tracker: CompletionTracker;
  quarantine: Quarantine;
  health: HealthChecker;
  alerter: Alerter;
  logger: Logger;
  clock?: () => Date;
}

export type HttpHandler = (req: Request, res: Response) => Promise<void>;

const asNumber = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const asString = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

export function createOrchestratorHandler(deps: OrchestratorDeps): HttpHandler {
  const { transition } = deps;
  const clock = deps.clock ?? (() => new Date());

  async function quarantineAndAnswer(
    log: Logger,
    res: Response,
    rawBody: unknown,
    messageId: string | null,
    subscription: string | null,
    errors: ContractError[],
  ): Promise<void> {
    const reason = errors.find((e) => e.code === "unknown_processor")?.code ?? errors[0]?.code ?? "invalid_contract";
    const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
    log.error(`message quarantined (${reason}): ${detail}`, {
      [LOG_EVENT_KEY]: LOG_EVENTS.messageQuarantined,
      [LOG_FIELDS.reason]: reason,
      [LOG_FIELDS.transition]: transition.id,
      message_id: messageId,
      field_errors: errors,
    });
    let id: string;
    try {
      id = await deps.quarantine.put({
        functionName: deps.functionName,
        transitionId: transition.id,
        rawBody,
        messageId,
        subscription,
        errors,
        reason,
        receivedAt: clock().toISOString(),
      });
    } catch (error) {
      // Not stored: answer non-2xx so Pub/Sub keeps the message (redelivery, then its dead-letter topic).
      // Alerted as well: the write may have landed after all (a timed-out call), and then no later
      // delivery of this message is sure to alert its quarantine; a person hears of it either way.
      log.error(`quarantine write failed; message ${messageId ?? "(no id)"} left to Pub/Sub redelivery`, { error });
      await deps.alerter.alert({
        severity: "error",
        subject: { kind: "quarantine_write_failed", transition: transition.id },
        title: `Message could not be quarantined by ${deps.functionName}; left to Pub/Sub redelivery`,
        phase: transition.phaseWireName,
        error,
        details: { quarantine_id: quarantineDocId(transition.id, messageId, rawBody), reason, errors: detail },
      });
      res.status(500).json({ status: "error", reason: "quarantine_write_failed" });
      return;
    }
    await alertForQuarantine(log, reason, detail, id);
    res.status(200).json({ status: "quarantined", reason, quarantine_id: id, errors });
  }

  async function alertForQuarantine(
    log: Logger,
    reason: string,
    detail: string,
    id: string,
  ): Promise<void> {
    await deps.alerter.alert({
      severity: "error",
      subject: { kind: reason, transition: transition.id },
      title: `Message quarantined by ${deps.functionName}`,
      phase: transition.phaseWireName,
      errorType: reason,
      details: { quarantine_id: id, errors: detail },
    });
    log.debug("quarantine alert handled", { quarantine_id: id });
  }

  async function handleUnknownProcessor(log: Logger, reportedName: string): Promise<void> {
    const first = await deps.quarantine.firstSightingOfUnknown(transition.id, reportedName, clock().toISOString());
    if (!first) return;
    const sent = await deps.alerter.alert({
      severity: "warning",
      subject: { kind: "unknown_processor", transition: transition.id, item: reportedName },
      title: `Unknown processor "${reportedName}" on ${transition.inputTopicName}: not counted`,
      phase: transition.phaseWireName,
      errorType: "unknown_processor",
      details: { hint: "add it as an alias of an expected processor in the pipeline model, or stop publishing it" },
    });
    log.warning(`first sighting of unknown processor ${reportedName}`, { reported_name: reportedName });
    // Not delivered (the alerter logged it at ERROR): forget the sighting so the next message alerts again.
    if (!sent.delivered && !sent.suppressed) await deps.quarantine.forgetSighting(transition.id, reportedName);
  }

  async function answerTracked(log: Logger, res: Response, c: ResolvedCompletion, result: TrackResult): Promise<void> {
    const body = {
      status: result.done ? "recorded" : "incomplete",
      processor: c.processor,
      firestore: result.firestore.ok ? (result.firestore.duplicate ? "duplicate" : "ok") : "failed",
      bigquery: result.bigquery.ok ? (result.bigquery.deferred === true ? "deferred" : "ok") : "failed",
      decision: result.decision && { trigger: result.decision.trigger, reason: result.decision.reason, missing: result.decision.missing },
      trigger: result.trigger && { trigger_id: result.trigger.triggerId, state: result.trigger.state },
    };
    if (!result.firestore.ok && !result.bigquery.ok) {
      await deps.alerter.alert({
        severity: "critical",
        subject: { kind: "both_stores_failed", transition: transition.id, gameDate: c.gameDate },
        title: `Both Firestore and BigQuery failed in ${deps.functionName}: completion not recorded`,
        phase: transition.phaseWireName,
        gameDate: c.gameDate,
        correlationId: c.correlationId,
        error: result.firestore.error,
        details: { processor: c.processor, message_id: c.messageId },
      });
    }
    if (result.trigger?.publishedNow && result.decision?.degraded) {
      await deps.alerter.alert({
        severity: "warning",
        subject: { kind: "missing_processors", transition: transition.id, gameDate: c.gameDate, item: result.trigger.triggerId },
        title: `${transition.id} triggered without every processor (${result.decision.reason})`,
        phase: transition.phaseWireName,
        gameDate: c.gameDate,
        correlationId: c.correlationId,
        errorType: "missing_processors",
        details: { missing: result.decision.missing, trigger_id: result.trigger.triggerId },
      });
    }
    if (result.trigger?.error !== undefined) {
      await deps.alerter.alert({
        severity: "error",
        subject: { kind: "trigger_publish_failed", transition: transition.id, gameDate: c.gameDate, item: result.trigger.triggerId },
        title: `Trigger ${result.trigger.triggerId} could not be published; left pending for redelivery and the sweeper`,
        phase: transition.phaseWireName,
        gameDate: c.gameDate,
        correlationId: c.correlationId,
        error: result.trigger.error,
      });
    }
    if (!result.done) log.warning(`answering 500 so Pub/Sub redelivers: ${JSON.stringify(body)}`);
    res.status(result.done ? 200 : 500).json(body);
  }

  async function handlePush(req: Request, res: Response, log: Logger): Promise<void> {
    const decoded = decodePushEnvelope(req.body);
    if (!decoded.ok) {
      const sub = asString((req.body as { subscription?: unknown } | undefined)?.subscription) ?? null;
      await quarantineAndAnswer(log, res, req.body, decoded.messageId ?? null, sub, decoded.errors);
      return;
    }
    const push = decoded.value;
    const parsed = parseCompletionForTransition(transition, push.data);
    if (!parsed.ok) {
      const unknown = parsed.errors.find((e) => e.code === "unknown_processor");
      const reported = asString((push.data as { processor_name?: unknown } | null)?.processor_name);
      if (unknown && reported) {
        try {
          await handleUnknownProcessor(log, reported);
        } catch (error) {
          // Firestore could not record the first sighting: the message comes back (500), alerted then.
          log.error(`could not record the first sighting of unknown processor ${reported}; answering 500 so Pub/Sub redelivers`, { error, reported_name: reported });
          res.status(500).json({ status: "error", reason: "unknown_processor_sighting_failed" });
          return;
        }
      }
      await quarantineAndAnswer(log, res, req.body, push.messageId, push.subscription, parsed.errors);
      return;
    }
    const { message, processor } = parsed.value;
    const meta = (message.metadata ?? {}) as Record<string, unknown>;
    const completion: ResolvedCompletion = {
      processor,
      reportedName: message.processor_name,
      status: message.status,
      gameDate: message.game_date,
      executionId: message.execution_id,
      correlationId: message.correlation_id,
      completedAt: new Date(message.timestamp).toISOString(),
      messageId: push.messageId,
      ...(asNumber(meta.completion_pct) === undefined ? {} : { completionPct: asNumber(meta.completion_pct)! }),
      ...(transition.rule.kind === "completion_pct"
        ? {
            batchId: asString(meta.batch_id) ?? message.execution_id,
            ...(asNumber(meta.completed_predictions) === undefined
              ? {}
              : { completedPredictions: asNumber(meta.completed_predictions)! }),
          }
        : {}),
    };
    const raw: RawFacts = {
      recordCount: asNumber(message.record_count),
      recordsFailed: asNumber(message.records_failed),
      durationSeconds: asNumber(message.duration_seconds),
      metadata: message.metadata as Record<string, unknown> | undefined,
    };
    // The request's trace, game date and correlation id on every line of this message, the tracker's too.
    const scoped = log.child({ game_date: completion.gameDate, correlation_id: completion.correlationId });
    const result = await deps.tracker.record(completion, raw, { logger: scoped });
    await answerTracked(scoped, res, completion, result);
  }

  return async (req, res) => {
    const log = deps.logger.withTrace(parseTraceHeaders(req.headers), deps.projectId);
    if (isHealthRequest(req)) {
      await answerHealth(deps.health, res);
      return;
    }
    if (req.method !== "POST") {
      res.status(405).json({ error: "POST a Pub/Sub push envelope, or GET /health" });
      return;
    }
    try {
      await handlePush(req, res, log);
    } catch (error) {
      // Unexpected: log, alert, and answer 500 so the message is redelivered rather than lost.
      log.error(`unhandled error in ${deps.functionName}`, { error });
      await deps.alerter.alert({
        severity: "error",
        subject: { kind: "unhandled_error", transition: transition.id },
        title: `Unhandled error in ${deps.functionName}`,
        phase: transition.phaseWireName,
        error,
      });
      if (!res.headersSent) res.status(500).json({ status: "error", reason: "unhandled" });
    }
  };
}

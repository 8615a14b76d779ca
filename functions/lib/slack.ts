// Alerts to a Slack incoming webhook.
//
// The one documented place where a failure becomes a logged decision instead of an exception: an
// alert that cannot be delivered must not turn a finished unit of work into a failure (and a Pub/Sub
// redelivery), so alert() never throws. It returns { delivered: false, error } and logs the alert
// at ERROR with its full content, so Cloud Logging (and the log-based alert policy on ERROR lines)
// still carries it. test/lib/slack.test.ts pins this.
//
// Storm control: alerts about the same subject (function + what happened, for which transition, game
// date, latch mode and item) within the dedupe window after a delivered one are not sent, only
// counted; the next delivered message says "(N similar suppressed)". The subject is structured and
// required, never read from the text: a title that omits the game date must not let one date's alert
// silence another's. The windows are kept for at most maxTrackedSubjects subjects (oldest dropped).
import { BoundedMap } from "../core/bounded-map.ts";
import { OrchestrationError, type ErrorCategory } from "../core/error-family.ts";
import { LOG_EVENT_KEY, LOG_EVENTS } from "../core/log-events.ts";
import { errorType as classifyErrorType } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { RETRY_PRESETS, withRetry, type RetryRuntime } from "./retry.ts";

export type AlertSeverity = "info" | "warning" | "error" | "critical";

/** What an alert is about; two alerts with equal subjects are the same alert (de-duplicated). */
export interface AlertSubject {
  /** What happened: "phase_stalled", "missing_processors", "unknown_processor", "both_stores_failed", ... */
  kind: string;
  /** The transition id, when the alert is about one. */
  transition?: string;
  /** The game date, when the alert is about one. */
  gameDate?: string;
  /** The latch mode ("daily", "same_day", "overnight"), when the alert is about one latch. */
  mode?: string;
  /** Whatever else tells two alerts of one kind apart: a processor name, a trigger id, a run id. */
  item?: string;
}

export interface Alert {
  severity: AlertSeverity;
  /** The de-duplication key. */
  subject: AlertSubject;
  title: string;
  phase?: string;
  gameDate?: string;
  correlationId?: string;
  error?: unknown;
  /** Overrides the type derived from `error` (e.g. "missing_processors"). */
  errorType?: string;
  details?: Record<string, unknown>;
}

export interface AlertResult {
  delivered: boolean;
  suppressed: boolean;
  error?: string;
}

export interface Alerter {
  alert(alert: Alert): Promise<AlertResult>;
}

export interface SlackAlerterOptions {
  webhookUrl: string | undefined;
  functionName: string;
  codeHash: string;
  dedupeWindowMs?: number;
  fetch?: typeof fetch;
  logger: Logger;
  now?: () => number;
  /** Clock/random of the webhook retries (tests). */
  retryRuntime?: Partial<RetryRuntime>;
  /** Subjects whose dedupe window is remembered (default 1000); past it the oldest is forgotten. */
  maxTrackedSubjects?: number;
}

export const MAX_STACK_CHARS = 2000;

const SEVERITY_ICON: Record<AlertSeverity, string> = {
  info: ":information_source:",
  warning: ":warning:",
  error: ":red_circle:",
  critical: ":rotating_light:",
};

/** A non-2xx answer of the webhook. */
export class SlackWebhookError extends OrchestrationError {
  override readonly name: string = "SlackWebhookError";
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, body: string, retryAfterMs: number | undefined) {
    super(`slack webhook answered ${status}: ${body.slice(0, 200)}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }

  /** Slack asked to slow down or failed on its side: another attempt may land. */
  get category(): ErrorCategory {
    return this.status === 429 || this.status >= 500 ? "transient" : "permanent";
  }
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The de-duplication key: the function and the alert's subject, never its text. */
export function alertFingerprint(functionName: string, alert: Pick<Alert, "subject">): string {
  const s = alert.subject;
  return JSON.stringify([functionName, s.kind, s.transition ?? "", s.gameDate ?? "", s.mode ?? "", s.item ?? ""]);
}

function alertErrorType(alert: Alert): string {
  return alert.errorType ?? (alert.error !== undefined ? classifyErrorType(alert.error) : "");
}

function errorMessageOf(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return err instanceof Error ? err.message : String(err);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 15)}\n… (truncated)`;
}

/** The webhook payload: `text` (mrkdwn) carries everything, so every Slack client shows it. */
export function formatSlackMessage(
  alert: Alert,
  ctx: { functionName: string; codeHash: string },
  suppressedCount: number,
): { text: string } {
  const lines: string[] = [];
  const suppressed = suppressedCount > 0 ? ` (${suppressedCount} similar suppressed)` : "";
  lines.push(`${SEVERITY_ICON[alert.severity]} *[${alert.severity.toUpperCase()}] ${alert.title}*${suppressed}`);
  lines.push(`*Function:* ${ctx.functionName}  *Code hash:* ${ctx.codeHash}`);
  if (alert.phase !== undefined) lines.push(`*Phase:* ${alert.phase}`);
  if (alert.gameDate !== undefined) lines.push(`*Game date:* ${alert.gameDate}`);
  const type = alertErrorType(alert);
  if (type !== "") lines.push(`*Error type:* ${type}`);
  if (alert.correlationId !== undefined) lines.push(`*Correlation id:* ${alert.correlationId}`);
  const message = errorMessageOf(alert.error);
  if (message !== undefined) lines.push(`*Message:* ${truncate(message, 1000)}`);
  if (alert.details !== undefined) lines.push(`*Details:* \`${truncate(JSON.stringify(alert.details), 1000)}\``);
  const stack = alert.error instanceof Error ? alert.error.stack : undefined;
  if (stack !== undefined) lines.push("```" + truncate(stack, MAX_STACK_CHARS) + "```");
  return { text: lines.join("\n") };
}

function isRetryableWebhookError(err: unknown): boolean {
  return err instanceof SlackWebhookError && (err.status === 429 || err.status >= 500);
}

export function createSlackAlerter(options: SlackAlerterOptions): Alerter {
  const { webhookUrl, functionName, codeHash, logger } = options;
  const dedupeWindowMs = options.dedupeWindowMs ?? 300_000;
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  /** fingerprint -> when the last delivered alert opened the window, and what was held back since. */
  const windows = new BoundedMap<string, { openedAt: number; suppressed: number }>(options.maxTrackedSubjects ?? 1000);

  async function post(payload: { text: string }, signal: AbortSignal): Promise<void> {
    const response = await doFetch(webhookUrl!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal,
    });
    const body = await response.text();
    if (!response.ok) {
      throw new SlackWebhookError(response.status, body, parseRetryAfterMs(response.headers.get("retry-after"), now()));
    }
  }

  function alertFields(alert: Alert): Record<string, unknown> {
    return {
      alert_severity: alert.severity,
      alert_title: alert.title,
      alert_subject: alert.subject,
      phase: alert.phase,
      game_date: alert.gameDate,
      correlation_id: alert.correlationId,
      error_type: alertErrorType(alert) || undefined,
      details: alert.details,
      ...(alert.error !== undefined ? { error: alert.error } : {}),
    };
  }

  async function deliver(alert: Alert): Promise<AlertResult> {
    const fingerprint = alertFingerprint(functionName, alert);
    const window = windows.get(fingerprint);
    const t = now();
    if (window !== undefined && t - window.openedAt < dedupeWindowMs) {
      window.suppressed++;
      logger.notice(`alert suppressed (duplicate within ${dedupeWindowMs} ms): ${alert.title}`, {
        ...alertFields(alert),
        suppressed_so_far: window.suppressed,
      });
      return { delivered: false, suppressed: true };
    }
    if (!webhookUrl) {
      logger.error("alert not delivered: no webhook configured", { [LOG_EVENT_KEY]: LOG_EVENTS.alertNotDelivered, ...alertFields(alert) });
      return { delivered: false, suppressed: false, error: "no webhook configured" };
    }
    const heldBack = window?.suppressed ?? 0;
    const payload = formatSlackMessage(alert, { functionName, codeHash }, heldBack);
    try {
      await withRetry("slack.webhook", (_attempt, signal) => post(payload, signal), RETRY_PRESETS.slack, {
        retryable: isRetryableWebhookError,
        serverDelayMs: (err) => (err instanceof SlackWebhookError ? err.retryAfterMs : undefined),
        logger,
        ...(options.retryRuntime ? { runtime: options.retryRuntime } : {}),
      });
    } catch (err) {
      // The documented decision: logged at ERROR with the whole alert, reported to the caller, not thrown.
      logger.error(`alert not delivered: slack webhook failed: ${alert.title}`, {
        [LOG_EVENT_KEY]: LOG_EVENTS.alertNotDelivered,
        ...alertFields(alert),
        delivery_error: { message: errorMessageOf(err), type: classifyErrorType(err), attempts: (err as { attempts?: number }).attempts },
      });
      return { delivered: false, suppressed: false, error: errorMessageOf(err) ?? "unknown error" };
    }
    for (const [subject, dropped] of windows.set(fingerprint, { openedAt: t, suppressed: 0 })) {
      // Only the count is lost: each suppressed alert was logged when it was held back.
      if (dropped.suppressed > 0) logger.notice(`alert de-dup: forgot ${dropped.suppressed} suppressed alert(s) of an old subject`, { alert_subject_key: subject });
    }
    logger.info(`alert delivered: ${alert.title}`, { alert_severity: alert.severity, suppressed_reported: heldBack });
    return { delivered: true, suppressed: false };
  }

  return {
    async alert(alert) {
      try {
        return await deliver(alert);
      } catch (err) {
        // Anything unexpected (e.g. unserializable details) is still a logged, non-throwing outcome.
        logger.error(`alert not delivered: ${errorMessageOf(err)}`, { [LOG_EVENT_KEY]: LOG_EVENTS.alertNotDelivered, alert_title: alert.title, error: err });
        return { delivered: false, suppressed: false, error: errorMessageOf(err) ?? "unknown error" };
      }
    },
  };
}

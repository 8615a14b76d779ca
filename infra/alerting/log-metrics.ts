// Log-based metrics over the runtime's structured log events (functions/core/log-events.ts).
// Pure definitions: the component declares one gcp.logging.Metric per entry.
import { LOG_EVENT_KEY, LOG_EVENTS, LOG_FIELDS } from "../../functions/core/log-events.ts";

export interface LogMetricLabel {
  key: string;
  description: string;
  /** Cloud Logging extractor, e.g. EXTRACT(jsonPayload.store). */
  extractor: string;
}

export interface LogMetricDef {
  /** Metric name (also the last part of its type logging.googleapis.com/user/<name>). */
  name: string;
  description: string;
  filter: string;
  labels: LogMetricLabel[];
}

const onFunctions = 'resource.type="cloud_run_revision"';
const eventIs = (event: string): string => `${onFunctions} AND jsonPayload.${LOG_EVENT_KEY}="${event}"`;
const serviceLabel: LogMetricLabel = {
  key: "service",
  description: "Cloud Run service (function) that logged the event",
  extractor: "EXTRACT(resource.labels.service_name)",
};
const fieldLabel = (field: string, description: string): LogMetricLabel => ({
  key: field,
  description,
  extractor: `EXTRACT(jsonPayload.${field})`,
});

export const LOG_METRICS = {
  dualWriteFailures: {
    name: "dual_write_failures",
    description: "Completions where one store failed after its retries and the other took the write (fallback), by store.",
    filter: eventIs(LOG_EVENTS.dualWriteFailed),
    labels: [fieldLabel(LOG_FIELDS.store, "The store that failed (firestore|bigquery)"), serviceLabel],
  },
  dualWriteSuccesses: {
    name: "dual_write_successes",
    description: "Completions written to both stores.",
    filter: eventIs(LOG_EVENTS.dualWriteSucceeded),
    labels: [serviceLabel],
  },
  messagesQuarantined: {
    name: "messages_quarantined",
    description: "Messages set aside (unparseable, contract violation, unknown processor), by reason.",
    filter: eventIs(LOG_EVENTS.messageQuarantined),
    labels: [fieldLabel(LOG_FIELDS.reason, "Why the message was quarantined"), serviceLabel],
  },
  triggersPublished: {
    name: "triggers_published",
    description: "Triggers published for the next phase, by transition and phase.",
    filter: eventIs(LOG_EVENTS.triggerPublished),
    labels: [
      fieldLabel(LOG_FIELDS.transition, "Transition id, e.g. phase2-to-phase3"),
      fieldLabel(LOG_FIELDS.phase, "The phase triggered"),
    ],
  },
} as const satisfies Record<string, LogMetricDef>;

export type LogMetricKey = keyof typeof LOG_METRICS;

/** The monitoring metric type of a log-based metric. */
export const userMetricType = (name: string): string => `logging.googleapis.com/user/${name}`;

/** Its PromQL name (Cloud Monitoring's mapping: first "/" -> ":", other "." and "/" -> "_"). */
export const userMetricPromQl = (name: string): string => `logging_googleapis_com:user_${name}`;

/** Log filter of the CRITICAL both-stores-failed event (a log-match alert, no metric). */
export const BOTH_STORES_FAILED_FILTER = `${eventIs(LOG_EVENTS.bothStoresFailed)} AND severity>=CRITICAL`;

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
    description: "Completions where one store failed after its retries (answered non-2xx for redelivery), by the store that failed.",
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
  // One per finished run of a scheduled job (INFO, or ERROR when it left work undone): their absence
  // means the job stopped running (scheduler paused, function broken, every run crashing).
  sweepCompletions: {
    name: "sweep_completions",
    description: "Sweeper runs that finished (with or without failures); absence means the sweeper stopped.",
    filter: eventIs(LOG_EVENTS.sweepCompleted),
    labels: [serviceLabel],
  },
  reconcileCompletions: {
    name: "reconcile_completions",
    description: "Reconciler runs that finished (with or without failures); absence means the reconciler stopped.",
    filter: eventIs(LOG_EVENTS.reconcileCompleted),
    labels: [serviceLabel],
  },
} as const satisfies Record<string, LogMetricDef>;

export type LogMetricKey = keyof typeof LOG_METRICS;

/**
 * The metric counting the completed runs of each scheduled job, by the functions-framework target its
 * entry registers (infra/function-registry.ts). A scheduled job without one has no stop alert, so
 * the alerting component refuses it.
 */
export const SCHEDULED_COMPLETION_METRICS: Readonly<Record<string, LogMetricKey>> = {
  sweep: "sweepCompletions",
  reconcile: "reconcileCompletions",
};

/** The monitoring metric type of a log-based metric. */
export const userMetricType = (name: string): string => `logging.googleapis.com/user/${name}`;

/**
 * A Cloud Monitoring metric type's PromQL name. Cloud Monitoring's documented mapping
 * (monitoring/promql/promql-mapping): the first "/" becomes ":", every other character PromQL does
 * not allow in a name ("." and the other "/" included) becomes "_". So
 * logging.googleapis.com/user/x -> logging_googleapis_com:user_x.
 */
export function promQlMetricName(metricType: string): string {
  const cut = metricType.indexOf("/");
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
  return cut < 0 ? clean(metricType) : `${clean(metricType.slice(0, cut))}:${clean(metricType.slice(cut + 1))}`;
}

/** The PromQL name of a log-based metric. */
export const userMetricPromQl = (name: string): string => promQlMetricName(userMetricType(name));

/** PromQL selector of a log-based metric's series written against the functions' Cloud Run revisions. */
export const userMetricSelector = (name: string, labels: Record<string, string> = {}): string =>
  `${userMetricPromQl(name)}{${[`monitored_resource="cloud_run_revision"`, ...Object.entries(labels).map(([k, v]) => `${k}="${v}"`)].join(",")}}`;

/** Log filter of the CRITICAL both-stores-failed event (a log-match alert, no metric). */
export const BOTH_STORES_FAILED_FILTER = `${eventIs(LOG_EVENTS.bothStoresFailed)} AND severity>=CRITICAL`;

/** Log filter of the sweeper's stall warning (a log-match alert: one incident per stalled latch seen). */
export const PHASE_STALLED_FILTER = `${eventIs(LOG_EVENTS.phaseStalled)} AND severity>=WARNING`;

/** Log filter of a Slack alert the functions could not deliver (the route every other runtime alert takes). */
export const ALERT_NOT_DELIVERED_FILTER = `${eventIs(LOG_EVENTS.alertNotDelivered)} AND severity>=ERROR`;

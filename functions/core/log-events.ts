// The structured-log contract between the runtime (which writes these JSON fields on stdout) and
// infra (whose log-based metrics and log-match alerts filter on them). One definition, so a renamed
// event breaks a test instead of silently emptying a metric. Pure: no I/O.

/** The JSON key that names the event of a log line (Cloud Logging: jsonPayload.event). */
export const LOG_EVENT_KEY = "event";
/** The JSON key Cloud Logging reads as the entry's severity (jsonPayload is stripped of it). */
export const LOG_SEVERITY_KEY = "severity";

export const LOG_EVENTS = {
  /** A completion was written to both stores. Fields: transition, phase. */
  dualWriteSucceeded: "dual_write_succeeded",
  /**
   * One store failed after its retries (bigquery: Firestore recorded it; firestore: nothing written, and
   * BigQuery answered); the message is answered 500 so Pub/Sub redelivers. Fields: store, transition.
   * Severity WARNING (the infra metric filters by event name, not severity; both stores failing is the
   * CRITICAL event below).
   */
  dualWriteFailed: "dual_write_failed",
  /** Firestore failed and BigQuery did not answer either: the completion is not recorded anywhere. Severity CRITICAL. */
  bothStoresFailed: "both_stores_failed",
  /** A message was set aside (unparseable, wrong contract, unknown processor). Fields: reason, transition. */
  messageQuarantined: "message_quarantined",
  /** A trigger for the next phase was published. Fields: transition, phase (the phase triggered). */
  triggerPublished: "trigger_published",
  /**
   * A sweeper run finished (the scheduled jobs write it through scheduled-config.ts, same name). INFO, or
   * ERROR when it left work undone; an absence of it means the sweeper stopped running. Fields: counts.
   */
  sweepCompleted: "sweep_completed",
  /** A reconciler run finished; INFO, or ERROR when it left work undone; absence = stopped. Fields: counts. */
  reconcileCompleted: "reconcile_completed",
  /** The sweeper found a latch past its stall window. WARNING. Fields: transition, game_date, missing_processors. */
  phaseStalled: "phase_stalled",
  /** A Slack alert could not be delivered (webhook failed, not configured): ERROR with the whole alert. */
  alertNotDelivered: "alert_not_delivered",
} as const;
export type LogEvent = (typeof LOG_EVENTS)[keyof typeof LOG_EVENTS];

/** Field names carried by the events above (top-level keys of the JSON line). */
export const LOG_FIELDS = {
  store: "store",
  transition: "transition",
  phase: "phase",
  reason: "reason",
  functionName: "function_name",
  codeHash: "code_hash",
} as const;

/** Values of the `store` field. */
export const STORES = ["firestore", "bigquery"] as const;
export type Store = (typeof STORES)[number];

/** Cloud Logging severities the runtime must use for the events that alert. */
export const LOG_EVENT_SEVERITY = {
  [LOG_EVENTS.dualWriteFailed]: "WARNING",
  [LOG_EVENTS.bothStoresFailed]: "CRITICAL",
  [LOG_EVENTS.messageQuarantined]: "ERROR",
  [LOG_EVENTS.triggerPublished]: "INFO",
  [LOG_EVENTS.dualWriteSucceeded]: "INFO",
  [LOG_EVENTS.sweepCompleted]: "INFO",
  [LOG_EVENTS.reconcileCompleted]: "INFO",
  [LOG_EVENTS.phaseStalled]: "WARNING",
  [LOG_EVENTS.alertNotDelivered]: "ERROR",
} as const satisfies Record<LogEvent, string>;

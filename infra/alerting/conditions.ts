// Alert policy conditions, as plain data (the gcp provider's AlertPolicyCondition shape). Pure, so
// the thresholds, filters and windows are tested without Pulumi.
//
// Two rules of the Monitoring API shape them (both enforced by the policy pack):
// - A threshold/absent filter that names metric.type also names resource.type, or the API rejects
//   the policy.
// - Conditions on log-based (user) metrics are PromQL with disableMetricValidation. A log-based
//   metric created in the same deployment is not queryable for minutes, and a filter condition on
//   it fails the first `pulumi up` with 404 "Cannot find metric(s)"; dependsOn on the metric does not
//   help (the metric resource exists, its time series do not yet). PromQL conditions can skip that
//   existence check, so the policy is created at once and starts matching when data arrives; the
//   alternative (a fixed delay between metric and policy) would only guess how long "minutes" is.
import type * as gcp from "@pulumi/gcp";
import {
  ALERT_NOT_DELIVERED_FILTER,
  BOTH_STORES_FAILED_FILTER,
  LOG_METRICS,
  PHASE_STALLED_FILTER,
  userMetricSelector,
} from "./log-metrics.ts";

type Condition = gcp.types.input.monitoring.AlertPolicyCondition;

/** Cloud Monitoring's longest metric-absence window through the API: 24.5 hours. */
export const MAX_ABSENCE_SECONDS = 88200;

const seconds = (s: number): string => `${s}s`;

/** More than `threshold` 5xx responses from one function within 5 minutes. */
export function function5xxCondition(serviceName: string, threshold: number): Condition {
  return {
    displayName: `${serviceName}: more than ${threshold} 5xx responses in 5 min`,
    conditionThreshold: {
      filter: [
        'resource.type="cloud_run_revision"',
        `resource.labels.service_name="${serviceName}"`,
        'metric.type="run.googleapis.com/request_count"',
        'metric.labels.response_code_class="5xx"',
      ].join(" AND "),
      aggregations: [
        { alignmentPeriod: "300s", perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["resource.label.service_name"] },
      ],
      comparison: "COMPARISON_GT",
      thresholdValue: threshold,
      duration: "0s",
      trigger: { count: 1 },
    },
  };
}

/** The oldest unacked message of a push subscription is older than `maxAgeSeconds` for 5 minutes. */
export function oldestUnackedCondition(subscriptionName: string, maxAgeSeconds: number): Condition {
  return {
    displayName: `${subscriptionName}: oldest unacked message older than ${maxAgeSeconds}s`,
    conditionThreshold: {
      filter: [
        'resource.type="pubsub_subscription"',
        `resource.labels.subscription_id="${subscriptionName}"`,
        'metric.type="pubsub.googleapis.com/subscription/oldest_unacked_message_age"',
      ].join(" AND "),
      aggregations: [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MAX" }],
      comparison: "COMPARISON_GT",
      thresholdValue: maxAgeSeconds,
      duration: "300s",
      trigger: { count: 1 },
    },
  };
}

/** A dead-letter subscription holds at least one message. */
export function deadLettersCondition(deadLetterSubscriptionName: string): Condition {
  return {
    displayName: `${deadLetterSubscriptionName}: dead letters waiting`,
    conditionThreshold: {
      filter: [
        'resource.type="pubsub_subscription"',
        `resource.labels.subscription_id="${deadLetterSubscriptionName}"`,
        'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"',
      ].join(" AND "),
      aggregations: [{ alignmentPeriod: "60s", perSeriesAligner: "ALIGN_MAX" }],
      comparison: "COMPARISON_GT",
      thresholdValue: 0,
      duration: "0s",
      trigger: { count: 1 },
    },
  };
}

/** The /health uptime check fails from more than one checker region for 10 minutes. */
export function uptimeFailedCondition(checkId: string, functionName: string): Condition {
  return {
    displayName: `${functionName}: /health uptime check failing`,
    conditionThreshold: {
      // The checks probe a Cloud Run revision (monitoredResource in components/alerting.ts), so their
      // results are written against resource.type cloud_run_revision, not uptime_url.
      filter: `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.type="cloud_run_revision" AND metric.labels.check_id="${checkId}"`,
      aggregations: [
        {
          alignmentPeriod: "1200s",
          perSeriesAligner: "ALIGN_NEXT_OLDER",
          crossSeriesReducer: "REDUCE_COUNT_FALSE",
          groupByFields: ["resource.label.*"],
        },
      ],
      comparison: "COMPARISON_GT",
      thresholdValue: 1,
      duration: "600s",
      trigger: { count: 1 },
    },
  };
}

/** A log line with the CRITICAL both_stores_failed event (log-match: needs a notification rate limit). */
export function bothStoresFailedCondition(): Condition {
  return {
    displayName: "both_stores_failed logged (CRITICAL)",
    conditionMatchedLog: {
      filter: BOTH_STORES_FAILED_FILTER,
      labelExtractors: {
        service: "EXTRACT(resource.labels.service_name)",
        transition: "EXTRACT(jsonPayload.transition)",
      },
    },
  };
}

/** Alert strategy every log-match policy needs (the API rejects one without a rate limit). */
export const LOG_MATCH_ALERT_STRATEGY: gcp.types.input.monitoring.AlertPolicyAlertStrategy = {
  notificationRateLimit: { period: "300s" },
  autoClose: "1800s",
};

/** For phase_stalled: the sweeper logs it on every run (every 10 min) while the latch waits; one notification an hour. */
export const PHASE_STALLED_ALERT_STRATEGY: gcp.types.input.monitoring.AlertPolicyAlertStrategy = {
  notificationRateLimit: { period: "3600s" },
  autoClose: "7200s",
};

/** PromQL evaluation cadence of every PromQL condition here (a positive multiple of 30 s). */
const PROMQL_EVALUATION_INTERVAL = "60s";

/** A PromQL condition on log-based metrics: created before the metric has data (see the top). */
function userMetricPromQlCondition(displayName: string, query: string, durationSeconds = 0): Condition {
  return {
    displayName,
    conditionPrometheusQueryLanguage: {
      query,
      duration: seconds(durationSeconds),
      evaluationInterval: PROMQL_EVALUATION_INTERVAL,
      disableMetricValidation: true,
    },
  };
}

/**
 * No series of a log-based metric for `windowSeconds`, as PromQL. The window is split between the
 * query range and the condition's duration: absent over the last R seconds, continuously for D
 * seconds, is absent over R + D. So it fires `windowSeconds` after the last point, as a metric-absence
 * condition would, and at the earliest D after the policy is created (a fresh metric has no data yet:
 * the job or the phase gets D to produce its first point before anyone is paged).
 */
function absenceCondition(displayName: string, selector: string, windowSeconds: number, graceSeconds: number): Condition {
  const windowMinutes = Math.ceil(windowSeconds / 60);
  const graceMinutes = Math.min(Math.max(1, Math.floor(graceSeconds / 60)), windowMinutes - 1, Math.floor(MAX_ABSENCE_SECONDS / 60));
  return userMetricPromQlCondition(displayName, `absent_over_time(${selector}[${windowMinutes - graceMinutes}m])`, graceMinutes * 60);
}

/** More than `threshold` dual-write fallbacks (one store failed) within an hour, by store, across functions. */
export function dualWriteFallbackCondition(threshold: number): Condition {
  return userMetricPromQlCondition(
    `more than ${threshold} dual-write fallbacks per hour`,
    `sum by (store) (increase(${userMetricSelector(LOG_METRICS.dualWriteFailures.name)}[1h])) > ${threshold}`,
  );
}

/**
 * No trigger of a transition within `absenceHours` (the model's absenceAlertHours): absence of the
 * triggers metric for that transition. PromQL (see the top), which also has no 24.5 h limit.
 */
export function pipelineStalledCondition(transitionId: string, toPhase: number, absenceHours: number): Condition {
  const windowSeconds = Math.ceil(absenceHours * 3600);
  if (windowSeconds < 120) throw new Error(`absenceAlertHours ${absenceHours} is shorter than the 2-minute minimum`);
  return absenceCondition(
    `no phase ${toPhase} trigger (${transitionId}) within ${absenceHours}h`,
    userMetricSelector(LOG_METRICS.triggersPublished.name, { transition: transitionId }),
    windowSeconds,
    windowSeconds / 2,
  );
}

/** Schedule periods without a completed run before a scheduled job counts as stopped. */
export const SCHEDULED_JOB_ABSENCE_PERIODS = 3;
/** Periods a new policy waits for the job's first completion (inside the window above). */
export const SCHEDULED_JOB_GRACE_PERIODS = 2;

/**
 * A scheduled job logged no completed run for SCHEDULED_JOB_ABSENCE_PERIODS of its longest schedule
 * interval (`periodSeconds`, from its cron expression).
 */
export function scheduledJobSilentCondition(functionName: string, metricName: string, periodSeconds: number): Condition {
  const windowSeconds = SCHEDULED_JOB_ABSENCE_PERIODS * periodSeconds;
  return absenceCondition(
    `${functionName}: no completed run within ${windowSeconds / 60} min (${SCHEDULED_JOB_ABSENCE_PERIODS} schedule periods)`,
    userMetricSelector(metricName),
    windowSeconds,
    SCHEDULED_JOB_GRACE_PERIODS * periodSeconds,
  );
}

/** The sweeper logged a phase past its stall window (log-match: every stalled latch, not only the first alerted). */
export function phaseStalledLoggedCondition(): Condition {
  return {
    displayName: "phase_stalled logged by the sweeper",
    conditionMatchedLog: {
      filter: PHASE_STALLED_FILTER,
      labelExtractors: {
        transition: "EXTRACT(jsonPayload.transition)",
        game_date: "EXTRACT(jsonPayload.game_date)",
      },
    },
  };
}

/** A function could not deliver a Slack alert (log-match; must notify through something other than Slack). */
export function alertNotDeliveredCondition(): Condition {
  return {
    displayName: "alert not delivered to Slack (logged ERROR)",
    conditionMatchedLog: {
      filter: ALERT_NOT_DELIVERED_FILTER,
      labelExtractors: {
        service: "EXTRACT(resource.labels.service_name)",
        alert_title: "EXTRACT(jsonPayload.alert_title)",
      },
    },
  };
}

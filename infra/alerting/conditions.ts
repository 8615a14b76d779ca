// Alert policy conditions, as plain data (the gcp provider's AlertPolicyCondition shape). Pure, so
// the thresholds, filters and windows are tested without Pulumi.
import type * as gcp from "@pulumi/gcp";
import { BOTH_STORES_FAILED_FILTER, LOG_METRICS, userMetricPromQl, userMetricType } from "./log-metrics.ts";

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
      filter: `metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND metric.labels.check_id="${checkId}"`,
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

/** More than `threshold` dual-write fallbacks (one store failed) within an hour, across functions. */
export function dualWriteFallbackCondition(threshold: number): Condition {
  return {
    displayName: `more than ${threshold} dual-write fallbacks per hour`,
    conditionThreshold: {
      filter: `metric.type="${userMetricType(LOG_METRICS.dualWriteFailures.name)}" AND resource.type="cloud_run_revision"`,
      aggregations: [
        { alignmentPeriod: "3600s", perSeriesAligner: "ALIGN_SUM", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["metric.label.store"] },
      ],
      comparison: "COMPARISON_GT",
      thresholdValue: threshold,
      duration: "0s",
      trigger: { count: 1 },
    },
  };
}

/**
 * No trigger of a transition within `absenceHours` (the model's absenceAlertHours): metric absence
 * on the triggers metric. Cloud Monitoring's metric-absence condition allows at most 24.5 h, so a
 * longer window (the default is 36 h) is the same absence expressed in PromQL (absent_over_time).
 */
export function pipelineStalledCondition(transitionId: string, toPhase: number, absenceHours: number): Condition {
  const windowSeconds = Math.ceil(absenceHours * 3600);
  const displayName = `no phase ${toPhase} trigger (${transitionId}) within ${absenceHours}h`;
  if (windowSeconds < 120) throw new Error(`absenceAlertHours ${absenceHours} is shorter than the 2-minute minimum`);
  const metric = LOG_METRICS.triggersPublished.name;
  if (windowSeconds <= MAX_ABSENCE_SECONDS) {
    return {
      displayName,
      conditionAbsent: {
        filter: `metric.type="${userMetricType(metric)}" AND resource.type="cloud_run_revision" AND metric.labels.transition="${transitionId}"`,
        aggregations: [
          { alignmentPeriod: "300s", perSeriesAligner: "ALIGN_SUM", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["metric.label.transition"] },
        ],
        duration: seconds(Math.ceil(windowSeconds / 60) * 60),
        trigger: { count: 1 },
      },
    };
  }
  return {
    displayName,
    conditionPrometheusQueryLanguage: {
      query: `absent_over_time(${userMetricPromQl(metric)}{monitored_resource="cloud_run_revision",transition="${transitionId}"}[${Math.ceil(windowSeconds / 60)}m])`,
      duration: "0s",
      evaluationInterval: "300s",
    },
  };
}

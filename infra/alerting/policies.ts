// Which alert policies a stack has, as plain data: one spec per policy with its title, severity,
// channel (by key), runbook, alert strategy and conditions. Pure, so the whole alerting plan is
// tested as tables (inputs -> specs) without Pulumi; the Alerting component only declares these.
//
// Two kinds of condition need a value known only once the stack is deployed (the Cloud Run service
// behind a function, the id of its uptime check). Their specs name the function instead; the
// component binds that value with boundCondition().
import type * as gcp from "@pulumi/gcp";
import {
  alertNotDeliveredCondition,
  bothStoresFailedCondition,
  deadLettersCondition,
  dualWriteFallbackCondition,
  function5xxCondition,
  LOG_MATCH_ALERT_STRATEGY,
  oldestUnackedCondition,
  PHASE_STALLED_ALERT_STRATEGY,
  phaseStalledLoggedCondition,
  pipelineStalledCondition,
  SCHEDULED_JOB_ABSENCE_PERIODS,
  scheduledJobSilentCondition,
  uptimeFailedCondition,
} from "./conditions.ts";
import { LOG_METRICS, SCHEDULED_COMPLETION_METRICS } from "./log-metrics.ts";
import type { LogMetricKey } from "./log-metrics.ts";
import type { RunbookKey } from "./runbooks.ts";
import { maxCronIntervalSeconds } from "./schedule-period.ts";

type Condition = gcp.types.input.monitoring.AlertPolicyCondition;
type AlertStrategy = gcp.types.input.monitoring.AlertPolicyAlertStrategy;

export type Severity = "CRITICAL" | "ERROR" | "WARNING";

/**
 * Where a policy notifies: the Slack errors or warnings channel, or the channel that does not depend
 * on Slack (email when the stack names alertEmail, else the Slack errors channel).
 */
export type ChannelKey = "errors" | "warnings" | "independent";

/** A condition: complete, or waiting for a deployed value of the function it names. */
export type ConditionSpec =
  | { kind: "complete"; condition: Condition }
  | { kind: "function5xx"; functionName: string; threshold: number }
  | { kind: "uptimeFailed"; functionName: string };

/** A resource a policy must be declared after, by key. */
export type PolicyPrerequisite = { kind: "subscription"; name: string } | { kind: "logMetric"; key: LogMetricKey };

export interface AlertPolicySpec {
  /** Logical key, unique in the stack: the policy resource is named "<component>-policy-<key>". */
  key: string;
  /** Display title (the component prefixes it with the stack's display prefix). */
  title: string;
  severity: Severity;
  channel: ChannelKey;
  runbook: RunbookKey;
  conditions: ConditionSpec[];
  /** Notification rate limit and auto-close (log-match policies need one). */
  strategy?: AlertStrategy;
  after: PolicyPrerequisite[];
}

/** A function as alerting sees it: its name and, for a scheduled job, its schedule and entry target. */
export interface WatchedFunctionSpec {
  name: string;
  /** Scheduled jobs only: the job's cron schedule and the functions-framework target its entry registers. */
  scheduled?: { schedule: string | undefined; target: string };
}

export interface WatchedSubscriptionSpec {
  subscriptionName: string;
  deadLetterSubscriptionName: string;
  functionName: string;
}

export interface AlertPoliciesInput {
  thresholds: { fiveXxPerFiveMinutes: number; unackedAgeSeconds: number; dualWriteFailuresPerHour: number };
  functions: readonly WatchedFunctionSpec[];
  subscriptions: readonly WatchedSubscriptionSpec[];
  transitions: readonly { id: string; toPhase: number; absenceAlertHours: number }[];
}

const complete = (condition: Condition): ConditionSpec => ({ kind: "complete", condition });

/** Slack channel by severity: warnings to the warnings channel, the rest to the errors channel. */
const slackChannel = (severity: Severity): ChannelKey => (severity === "WARNING" ? "warnings" : "errors");

/** Every alert policy of a stack, in declaration order. Throws for a scheduled job it cannot watch. */
export function alertPolicies(input: AlertPoliciesInput): AlertPolicySpec[] {
  const { thresholds } = input;
  const specs: AlertPolicySpec[] = [];
  const add = (spec: Omit<AlertPolicySpec, "channel" | "after"> & Partial<Pick<AlertPolicySpec, "channel" | "after">>) =>
    specs.push({ channel: slackChannel(spec.severity), after: [], ...spec });

  for (const fn of input.functions) {
    add({
      key: `5xx-${fn.name}`,
      title: `${fn.name} returns 5xx`,
      severity: "ERROR",
      runbook: "function5xx",
      conditions: [{ kind: "function5xx", functionName: fn.name, threshold: thresholds.fiveXxPerFiveMinutes }],
    });
    add({
      key: `uptime-${fn.name}`,
      title: `${fn.name} /health failing`,
      severity: "ERROR",
      runbook: "uptimeFailed",
      conditions: [{ kind: "uptimeFailed", functionName: fn.name }],
    });
  }

  for (const sub of input.subscriptions) {
    const after: PolicyPrerequisite[] = [{ kind: "subscription", name: sub.subscriptionName }];
    add({
      key: `unacked-${sub.subscriptionName}`,
      title: `${sub.subscriptionName}: deliveries to ${sub.functionName} are backing up`,
      severity: "WARNING",
      runbook: "pushBacklog",
      conditions: [complete(oldestUnackedCondition(sub.subscriptionName, thresholds.unackedAgeSeconds))],
      after,
    });
    add({
      key: `dlq-${sub.deadLetterSubscriptionName}`,
      title: `${sub.deadLetterSubscriptionName}: dead letters for ${sub.functionName}`,
      severity: "ERROR",
      runbook: "deadLetters",
      conditions: [complete(deadLettersCondition(sub.deadLetterSubscriptionName))],
      after,
    });
  }

  for (const t of input.transitions) {
    add({
      key: `stalled-${t.id}`,
      title: `Pipeline stalled: no phase ${t.toPhase} trigger (${t.id}) within ${t.absenceAlertHours}h`,
      severity: "ERROR",
      runbook: "pipelineStalled",
      conditions: [complete(pipelineStalledCondition(t.id, t.toPhase, t.absenceAlertHours))],
      after: [{ kind: "logMetric", key: "triggersPublished" }],
    });
  }

  add({
    key: "both-stores-failed",
    title: "Both stores failed: a completion was not recorded",
    severity: "CRITICAL",
    runbook: "bothStoresFailed",
    conditions: [complete(bothStoresFailedCondition())],
    strategy: LOG_MATCH_ALERT_STRATEGY,
  });
  add({
    key: "dual-write-fallback",
    title: `Dual-write fallbacks above ${thresholds.dualWriteFailuresPerHour} per hour`,
    severity: "WARNING",
    runbook: "dualWriteFallback",
    conditions: [complete(dualWriteFallbackCondition(thresholds.dualWriteFailuresPerHour))],
    after: [{ kind: "logMetric", key: "dualWriteFailures" }],
  });

  // A stopped scheduled job logs nothing at all (and one run every 10 min never reaches the 5xx
  // threshold): alert on the absence of its completion events, sized from its registered schedule.
  for (const fn of input.functions) {
    if (fn.scheduled === undefined) continue;
    const key = SCHEDULED_COMPLETION_METRICS[fn.scheduled.target];
    if (key === undefined) throw new Error(`scheduled function ${fn.name} (target ${fn.scheduled.target}) logs no completion event the stop alert could count`);
    if (fn.scheduled.schedule === undefined) throw new Error(`scheduled function ${fn.name} has no schedule`);
    const period = maxCronIntervalSeconds(fn.scheduled.schedule);
    add({
      key: `silent-${fn.name}`,
      title: `${fn.name} stopped: no completed run within ${(SCHEDULED_JOB_ABSENCE_PERIODS * period) / 60} min`,
      severity: "ERROR",
      runbook: "scheduledJobSilent",
      conditions: [complete(scheduledJobSilentCondition(fn.name, LOG_METRICS[key].name, period))],
      after: [{ kind: "logMetric", key }],
    });
  }

  // Log-match alerts through the channel that does not depend on Slack.
  add({
    key: "phase-stalled-logged",
    title: "A phase is stalled (sweeper)",
    severity: "ERROR",
    channel: "independent",
    runbook: "phaseStalled",
    conditions: [complete(phaseStalledLoggedCondition())],
    strategy: PHASE_STALLED_ALERT_STRATEGY,
  });
  add({
    key: "alert-not-delivered",
    title: "A Slack alert could not be delivered",
    severity: "ERROR",
    channel: "independent",
    runbook: "alertNotDelivered",
    conditions: [complete(alertNotDeliveredCondition())],
    strategy: LOG_MATCH_ALERT_STRATEGY,
  });
  return specs;
}

/** A condition that waits for a deployed value of its function. */
export type PendingCondition = Exclude<ConditionSpec, { kind: "complete" }>;

/**
 * The condition, given the deployed value it waits for: the Cloud Run service behind the function
 * (function5xx), the id of the function's /health uptime check (uptimeFailed).
 */
export function boundCondition(spec: PendingCondition, value: string): Condition {
  switch (spec.kind) {
    case "function5xx":
      return function5xxCondition(value, spec.threshold);
    case "uptimeFailed":
      return uptimeFailedCondition(value, spec.functionName);
  }
}

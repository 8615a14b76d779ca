// Alerting: Slack notification channels, an email channel for the alerts about Slack itself,
// log-based metrics, alert policies (each documented with a runbook link), /health uptime checks,
// stop alerts of the scheduled jobs and the dashboard.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import type { Transition } from "../../functions/core/pipeline-types.ts";
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
} from "../alerting/conditions.ts";
import { dashboardJson } from "../alerting/dashboard.ts";
import { LOG_METRICS, SCHEDULED_COMPLETION_METRICS } from "../alerting/log-metrics.ts";
import type { LogMetricKey } from "../alerting/log-metrics.ts";
import { maxCronIntervalSeconds } from "../alerting/schedule-period.ts";
import { RUNBOOKS } from "../alerting/runbooks.ts";
import type { RunbookKey } from "../alerting/runbooks.ts";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";
import { runbookUrl } from "../stack-config.ts";
import type { StackConfig } from "../stack-config.ts";
import type { PipelineFunction } from "./pipeline-function.ts";

type Kinds = {
  channel: gcp.monitoring.NotificationChannelArgs;
  metric: gcp.logging.MetricArgs;
  policy: gcp.monitoring.AlertPolicyArgs;
  uptimeCheck: gcp.monitoring.UptimeCheckConfigArgs;
  uptimeInvoker: gcp.cloudrunv2.ServiceIamMemberArgs;
  dashboard: gcp.monitoring.DashboardArgs;
};

export interface WatchedSubscription {
  /** Push subscription name (physical). */
  subscriptionName: string;
  deadLetterSubscriptionName: string;
  functionName: string;
  /** The subscriptions themselves, so the policies are declared after them. */
  resources: pulumi.Resource[];
}

export interface AlertingArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  config: Pick<StackConfig, "alerts" | "slack" | "repository">;
  /** Pulumi secret: the Slack app's bot token for the notification channels. */
  slackAuthToken: pulumi.Output<string>;
  functions: readonly PipelineFunction[];
  subscriptions: readonly WatchedSubscription[];
  transitions: readonly Transition[];
  /** IAM member of the Monitoring service agent (uptime checks authenticate as it). */
  monitoringServiceAgent: pulumi.Input<string>;
}

type Severity = "CRITICAL" | "ERROR" | "WARNING";

export class Alerting extends Component<Kinds> {
  readonly errorsChannel: gcp.monitoring.NotificationChannel;
  readonly warningsChannel: gcp.monitoring.NotificationChannel;
  /** Monitoring's own email channel (config alertEmail), for the alerts that must not depend on Slack. */
  readonly emailChannel: gcp.monitoring.NotificationChannel | undefined;
  readonly policies: gcp.monitoring.AlertPolicy[] = [];
  readonly uptimeChecks = new Map<string, gcp.monitoring.UptimeCheckConfig>();
  readonly dashboard: gcp.monitoring.Dashboard;

  constructor(name: string, args: AlertingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Alerting", name, args.transform, opts);
    const { naming, config } = args;

    const channel = (suffix: string, slackChannel: string, what: string) =>
      this.child("channel", gcp.monitoring.NotificationChannel, `slack-${suffix}`, {
        type: "slack",
        displayName: naming.display(`Slack ${slackChannel} (${what})`),
        labels: { channel_name: slackChannel },
        sensitiveLabels: { authToken: args.slackAuthToken },
        userLabels: naming.labels(),
      });
    this.errorsChannel = channel("errors", config.slack.errorsChannel, "errors");
    this.warningsChannel = channel("warnings", config.slack.warningsChannel, "warnings");
    const email = config.alerts.email;
    this.emailChannel =
      email === undefined
        ? undefined
        : this.child("channel", gcp.monitoring.NotificationChannel, "email-oncall", {
            type: "email",
            displayName: naming.display(`Email ${email} (alerts about Slack itself)`),
            labels: { email_address: email },
            userLabels: naming.labels(),
          });
    // Where the alerts about the Slack route go. Without alertEmail (allowed in dev only) they fall
    // back to Monitoring's Slack channel, which at least does not go through the functions' webhook.
    const independentChannel = this.emailChannel ?? this.errorsChannel;

    const metrics = Object.values(LOG_METRICS).map((def) =>
      this.child("metric", gcp.logging.Metric, `metric-${def.name}`, {
        name: naming.logMetric(def.name),
        description: def.description,
        filter: def.filter,
        metricDescriptor: {
          metricKind: "DELTA",
          valueType: "INT64",
          unit: "1",
          labels: def.labels.map((l) => ({ key: l.key, valueType: "STRING", description: l.description })),
        },
        labelExtractors: Object.fromEntries(def.labels.map((l) => [l.key, l.extractor])),
      }),
    );

    const policy = (
      suffix: string,
      title: string,
      runbook: RunbookKey,
      severity: Severity,
      conditions: pulumi.Input<gcp.types.input.monitoring.AlertPolicyCondition>[],
      extra: Partial<gcp.monitoring.AlertPolicyArgs> = {},
      dependsOn: pulumi.Resource[] = [],
    ) => {
      const book = RUNBOOKS[runbook];
      const url = runbookUrl(config, book.file);
      const p = this.child(
        "policy",
        gcp.monitoring.AlertPolicy,
        `policy-${suffix}`,
        {
          displayName: naming.display(title),
          combiner: "OR",
          severity,
          conditions,
          notificationChannels: [severity === "WARNING" ? this.warningsChannel.name : this.errorsChannel.name],
          documentation: {
            mimeType: "text/markdown",
            subject: naming.display(title),
            content: `${title}.\n\nRunbook: [${book.title}](${url})`,
            links: [{ displayName: `Runbook: ${book.title}`, url }],
          },
          userLabels: naming.labels({ runbook: book.file.replace(/\.md$/, "") }),
          ...extra,
        },
        { dependsOn },
      );
      this.policies.push(p);
      return p;
    };

    for (const fn of args.functions) {
      const fnName = fn.spec.name;
      policy(`5xx-${fnName}`, `${fnName} returns 5xx`, "function5xx", "ERROR", [
        fn.serviceName.apply((service) => function5xxCondition(service, config.alerts.fiveXxPerFiveMinutes)),
      ]);

      // Uptime checks call /health from outside Google's network, authenticated as the Monitoring
      // service agent with an OIDC token; it needs run.invoker on the service (ingress ALLOW_ALL, IAM-only).
      const invoker = this.child("uptimeInvoker", gcp.cloudrunv2.ServiceIamMember, `uptime-invoker-${fnName}`, {
        project: args.project,
        location: args.region,
        name: fn.serviceName,
        role: "roles/run.invoker",
        member: args.monitoringServiceAgent,
      });
      const check = this.child(
        "uptimeCheck",
        gcp.monitoring.UptimeCheckConfig,
        `uptime-${fnName}`,
        {
          displayName: naming.display(`${fnName} /health`),
          period: `${config.alerts.uptimePeriodSeconds}s`,
          timeout: "10s",
          checkerType: "STATIC_IP_CHECKERS",
          monitoredResource: {
            type: "cloud_run_revision",
            labels: { project_id: args.project, service_name: fn.serviceName, location: args.region },
          },
          httpCheck: {
            path: "/health",
            port: 443,
            useSsl: true,
            validateSsl: true,
            requestMethod: "GET",
            serviceAgentAuthentication: { type: "OIDC_TOKEN" },
            acceptedResponseStatusCodes: [{ statusClass: "STATUS_CLASS_2XX" }],
          },
          userLabels: naming.labels({ function: fnName }),
        },
        { dependsOn: [invoker] },
      );
      this.uptimeChecks.set(fnName, check);
      policy(`uptime-${fnName}`, `${fnName} /health failing`, "uptimeFailed", "ERROR", [
        check.uptimeCheckId.apply((id) => uptimeFailedCondition(id, fnName)),
      ]);
    }

    for (const sub of args.subscriptions) {
      policy(
        `unacked-${sub.subscriptionName}`,
        `${sub.subscriptionName}: deliveries to ${sub.functionName} are backing up`,
        "pushBacklog",
        "WARNING",
        [oldestUnackedCondition(sub.subscriptionName, config.alerts.unackedAgeSeconds)],
        {},
        sub.resources,
      );
      policy(
        `dlq-${sub.deadLetterSubscriptionName}`,
        `${sub.deadLetterSubscriptionName}: dead letters for ${sub.functionName}`,
        "deadLetters",
        "ERROR",
        [deadLettersCondition(sub.deadLetterSubscriptionName)],
        {},
        sub.resources,
      );
    }

    const metricOf = (key: LogMetricKey) => metrics[Object.keys(LOG_METRICS).indexOf(key)]!;
    const triggersMetric = metricOf("triggersPublished");
    for (const t of args.transitions) {
      policy(
        `stalled-${t.id}`,
        `Pipeline stalled: no phase ${t.toPhase} trigger (${t.id}) within ${t.absenceAlertHours}h`,
        "pipelineStalled",
        "ERROR",
        [pipelineStalledCondition(t.id, t.toPhase, t.absenceAlertHours)],
        {},
        [triggersMetric],
      );
    }

    policy("both-stores-failed", "Both stores failed: a completion was not recorded", "bothStoresFailed", "CRITICAL", [bothStoresFailedCondition()], {
      alertStrategy: LOG_MATCH_ALERT_STRATEGY,
    });
    const failuresMetric = metricOf("dualWriteFailures");
    policy(
      "dual-write-fallback",
      `Dual-write fallbacks above ${config.alerts.dualWriteFailuresPerHour} per hour`,
      "dualWriteFallback",
      "WARNING",
      [dualWriteFallbackCondition(config.alerts.dualWriteFailuresPerHour)],
      {},
      [failuresMetric],
    );

    // A stopped scheduled job logs nothing at all (and one run every 10 min never reaches the 5xx
    // threshold): alert on the absence of its completion events, sized from its registered schedule.
    for (const fn of args.functions) {
      if (fn.spec.kind !== "scheduled") continue;
      const key = SCHEDULED_COMPLETION_METRICS[fn.spec.target];
      if (key === undefined) throw new Error(`scheduled function ${fn.spec.name} (target ${fn.spec.target}) logs no completion event the stop alert could count`);
      if (fn.spec.schedule === undefined) throw new Error(`scheduled function ${fn.spec.name} has no schedule`);
      const period = maxCronIntervalSeconds(fn.spec.schedule);
      policy(
        `silent-${fn.spec.name}`,
        `${fn.spec.name} stopped: no completed run within ${(SCHEDULED_JOB_ABSENCE_PERIODS * period) / 60} min`,
        "scheduledJobSilent",
        "ERROR",
        [scheduledJobSilentCondition(fn.spec.name, LOG_METRICS[key].name, period)],
        {},
        [metricOf(key)],
      );
    }

    // Log-match alerts through the channel that does not depend on Slack.
    policy(
      "phase-stalled-logged",
      "A phase is stalled (sweeper)",
      "phaseStalled",
      "ERROR",
      [phaseStalledLoggedCondition()],
      { alertStrategy: PHASE_STALLED_ALERT_STRATEGY, notificationChannels: [independentChannel.name] },
    );
    policy(
      "alert-not-delivered",
      "A Slack alert could not be delivered",
      "alertNotDelivered",
      "ERROR",
      [alertNotDeliveredCondition()],
      { alertStrategy: LOG_MATCH_ALERT_STRATEGY, notificationChannels: [independentChannel.name] },
    );

    this.dashboard = this.child(
      "dashboard",
      gcp.monitoring.Dashboard,
      "dashboard",
      { dashboardJson: dashboardJson(naming.display("Phase orchestration"), args.subscriptions.map((s) => s.deadLetterSubscriptionName)) },
      { dependsOn: metrics },
    );
    this.registerOutputs({
      errorsChannel: this.errorsChannel.name,
      warningsChannel: this.warningsChannel.name,
      emailChannel: this.emailChannel?.name,
      dashboard: this.dashboard.id,
    });
  }
}

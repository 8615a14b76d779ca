// Alerting: Slack notification channels, log-based metrics, alert policies (each documented with a
// runbook link), /health uptime checks and the dashboard.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import {
  bothStoresFailedCondition,
  deadLettersCondition,
  dualWriteFallbackCondition,
  function5xxCondition,
  LOG_MATCH_ALERT_STRATEGY,
  oldestUnackedCondition,
  pipelineStalledCondition,
  uptimeFailedCondition,
} from "../alerting/conditions.ts";
import { dashboardJson } from "../alerting/dashboard.ts";
import { LOG_METRICS } from "../alerting/log-metrics.ts";
import { RUNBOOKS } from "../alerting/runbooks.ts";
import type { RunbookKey } from "../alerting/runbooks.ts";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";
import { runbookUrl } from "../stack-config.ts";
import type { StackConfig } from "../stack-config.ts";
import type { OrchestrationFunction } from "./orchestration-function.ts";

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
  functions: readonly OrchestrationFunction[];
  subscriptions: readonly WatchedSubscription[];
  transitions: readonly Transition[];
  /** IAM member of the Monitoring service agent (uptime checks authenticate as it). */
  monitoringServiceAgent: pulumi.Input<string>;
}

type Severity = "CRITICAL" | "ERROR" | "WARNING";

export class Alerting extends Component<Kinds> {
  readonly errorsChannel: gcp.monitoring.NotificationChannel;
  readonly warningsChannel: gcp.monitoring.NotificationChannel;
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

    const triggersMetric = metrics[Object.keys(LOG_METRICS).indexOf("triggersPublished")]!;
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
    const failuresMetric = metrics[Object.keys(LOG_METRICS).indexOf("dualWriteFailures")]!;
    policy(
      "dual-write-fallback",
      `Dual-write fallbacks above ${config.alerts.dualWriteFailuresPerHour} per hour`,
      "dualWriteFallback",
      "WARNING",
      [dualWriteFallbackCondition(config.alerts.dualWriteFailuresPerHour)],
      {},
      [failuresMetric],
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
      dashboard: this.dashboard.id,
    });
  }
}

// Alerting: Slack notification channels, an email channel for the alerts about Slack itself,
// log-based metrics, /health uptime checks, the dashboard, and the alert policies that
// infra/alerting/policies.ts plans (each documented with a runbook link). This component only
// declares: which policies exist, and with what conditions, is decided there and tested as data.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { dashboardJson } from "../alerting/dashboard.ts";
import { LOG_METRICS } from "../alerting/log-metrics.ts";
import type { LogMetricKey } from "../alerting/log-metrics.ts";
import { alertPolicies, boundCondition } from "../alerting/policies.ts";
import type { AlertPolicySpec, ChannelKey, ConditionSpec, PolicyPrerequisite, WatchedFunctionSpec } from "../alerting/policies.ts";
import { RUNBOOKS } from "../alerting/runbooks.ts";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";
import { runbookUrl } from "../stack-config.ts";
import type { StackConfig } from "../stack-config.ts";

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

/** A function to watch: its name, the Cloud Run service behind it, and for a scheduled job its schedule. */
export interface WatchedFunction extends WatchedFunctionSpec {
  /** The Cloud Run service (short name): uptime checks probe it, 5xx alerts count its answers. */
  serviceName: pulumi.Input<string>;
}

export interface AlertingArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  config: Pick<StackConfig, "alerts" | "slack" | "repository">;
  /** Pulumi secret: the Slack app's bot token for the notification channels. */
  slackAuthToken: pulumi.Output<string>;
  functions: readonly WatchedFunction[];
  subscriptions: readonly WatchedSubscription[];
  transitions: readonly { id: string; toPhase: number; absenceAlertHours: number }[];
  /** IAM member of the Monitoring service agent (uptime checks authenticate as it). */
  monitoringServiceAgent: pulumi.Input<string>;
}

export class Alerting extends Component<Kinds> {
  readonly errorsChannel: gcp.monitoring.NotificationChannel;
  readonly warningsChannel: gcp.monitoring.NotificationChannel;
  /** Monitoring's own email channel (config alertEmail), for the alerts that must not depend on Slack. */
  readonly emailChannel: gcp.monitoring.NotificationChannel | undefined;
  readonly policies: gcp.monitoring.AlertPolicy[] = [];
  readonly uptimeChecks = new Map<string, gcp.monitoring.UptimeCheckConfig>();
  readonly dashboard: gcp.monitoring.Dashboard;
  private readonly naming: Naming;
  private readonly config: AlertingArgs["config"];

  constructor(name: string, args: AlertingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Alerting", name, args.transform, opts);
    const { naming, config } = args;
    this.naming = naming;
    this.config = config;

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
    const metrics = Object.fromEntries(
      Object.entries(LOG_METRICS).map(([key, def]) => [
        key,
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
      ]),
    ) as Record<LogMetricKey, gcp.logging.Metric>;

    for (const fn of args.functions) {
      // Uptime checks call /health from outside Google's network, authenticated as the Monitoring
      // service agent with an OIDC token; it needs run.invoker on the service (ingress ALLOW_ALL, IAM-only).
      const invoker = this.child("uptimeInvoker", gcp.cloudrunv2.ServiceIamMember, `uptime-invoker-${fn.name}`, {
        project: args.project,
        location: args.region,
        name: fn.serviceName,
        role: "roles/run.invoker",
        member: args.monitoringServiceAgent,
      });
      const check = this.child(
        "uptimeCheck",
        gcp.monitoring.UptimeCheckConfig,
        `uptime-${fn.name}`,
        {
          displayName: naming.display(`${fn.name} /health`),
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
          userLabels: naming.labels({ function: fn.name }),
        },
        { dependsOn: [invoker] },
      );
      this.uptimeChecks.set(fn.name, check);
    }

    const specs = alertPolicies({
      thresholds: config.alerts,
      functions: args.functions,
      subscriptions: args.subscriptions,
      transitions: args.transitions,
    });
    const channels: Record<ChannelKey, gcp.monitoring.NotificationChannel> = {
      errors: this.errorsChannel,
      warnings: this.warningsChannel,
      // Without alertEmail (allowed in dev only) the alerts about the Slack route fall back to
      // Monitoring's Slack channel, which at least does not go through the functions' webhook.
      independent: this.emailChannel ?? this.errorsChannel,
    };
    const serviceOf = new Map(args.functions.map((f) => [f.name, f.serviceName]));
    const known = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new Error(`alert policy refers to ${what}, which is not watched`);
      return value;
    };
    const condition = (c: ConditionSpec): pulumi.Input<gcp.types.input.monitoring.AlertPolicyCondition> => {
      switch (c.kind) {
        case "complete":
          return c.condition;
        case "function5xx":
          return pulumi.output(known(serviceOf.get(c.functionName), `function ${c.functionName}`)).apply((service) => boundCondition(c, service));
        case "uptimeFailed":
          return known(this.uptimeChecks.get(c.functionName), `function ${c.functionName}`).uptimeCheckId.apply((id) => boundCondition(c, id));
      }
    };
    const subscriptionResources = new Map(args.subscriptions.map((s) => [s.subscriptionName, s.resources]));
    const prerequisites = (p: PolicyPrerequisite): pulumi.Resource[] =>
      p.kind === "logMetric" ? [metrics[p.key]] : known(subscriptionResources.get(p.name), `subscription ${p.name}`);
    for (const spec of specs) this.policies.push(this.policy(spec, channels[spec.channel], spec.conditions.map(condition), spec.after.flatMap(prerequisites)));

    this.dashboard = this.child(
      "dashboard",
      gcp.monitoring.Dashboard,
      "dashboard",
      { dashboardJson: dashboardJson(naming.display("Phase orchestration"), args.subscriptions.map((s) => s.deadLetterSubscriptionName)) },
      { dependsOn: Object.values(metrics) },
    );
    this.registerOutputs({
      errorsChannel: this.errorsChannel.name,
      warningsChannel: this.warningsChannel.name,
      emailChannel: this.emailChannel?.name,
      dashboard: this.dashboard.id,
    });
  }

  /** One alert policy, documented with its runbook link. */
  private policy(
    spec: AlertPolicySpec,
    channel: gcp.monitoring.NotificationChannel,
    conditions: pulumi.Input<gcp.types.input.monitoring.AlertPolicyCondition>[],
    dependsOn: pulumi.Resource[],
  ): gcp.monitoring.AlertPolicy {
    const { naming, config } = this;
    const book = RUNBOOKS[spec.runbook];
    const url = runbookUrl(config, book.file);
    return this.child(
      "policy",
      gcp.monitoring.AlertPolicy,
      `policy-${spec.key}`,
      {
        displayName: naming.display(spec.title),
        combiner: "OR",
        severity: spec.severity,
        conditions,
        notificationChannels: [channel.name],
        documentation: {
          mimeType: "text/markdown",
          subject: naming.display(spec.title),
          content: `${spec.title}.\n\nRunbook: [${book.title}](${url})`,
          links: [{ displayName: `Runbook: ${book.title}`, url }],
        },
        userLabels: naming.labels({ runbook: book.file.replace(/\.md$/, "") }),
        ...(spec.strategy === undefined ? {} : { alertStrategy: spec.strategy }),
      },
      { dependsOn },
    );
  }
}

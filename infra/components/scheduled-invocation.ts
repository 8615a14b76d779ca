// Cloud Scheduler calling a scheduled function over HTTP with an OIDC token of a dedicated account
// that may invoke that function only (the sweeper and reconciler).
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";
import type { PipelineFunction } from "./pipeline-function.ts";

type Kinds = {
  account: gcp.serviceaccount.AccountArgs;
  invokerBinding: gcp.cloudrunv2.ServiceIamMemberArgs;
  job: gcp.cloudscheduler.JobArgs;
};

export interface ScheduledInvocationArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  target: PipelineFunction;
  schedule: string;
  timeZone: string;
  /** The function timeout: the attempt deadline covers it. */
  functionTimeoutSeconds: number;
}

export class ScheduledInvocation extends Component<Kinds> {
  readonly job: gcp.cloudscheduler.Job;
  readonly account: gcp.serviceaccount.Account;

  constructor(name: string, args: ScheduledInvocationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ScheduledInvocation", name, args.transform, opts);
    const spec = args.target.spec;
    this.account = this.child("account", gcp.serviceaccount.Account, "sa", {
      accountId: args.naming.serviceAccountId(spec.shortName, "sched"),
      displayName: `Cloud Scheduler identity for ${spec.name}`,
    });
    const invoker = this.child("invokerBinding", gcp.cloudrunv2.ServiceIamMember, "invoker", {
      project: args.project,
      location: args.region,
      name: args.target.serviceName,
      role: "roles/run.invoker",
      member: pulumi.interpolate`serviceAccount:${this.account.email}`,
    });
    this.job = this.child(
      "job",
      gcp.cloudscheduler.Job,
      "job",
      {
        name: args.naming.functionName(spec.name),
        region: args.region,
        schedule: args.schedule,
        timeZone: args.timeZone,
        // Cloud Scheduler allows HTTP attempt deadlines of 15 s .. 30 min.
        attemptDeadline: `${Math.min(1800, Math.max(15, args.functionTimeoutSeconds))}s`,
        retryConfig: { retryCount: 3, minBackoffDuration: "30s", maxBackoffDuration: "300s" },
        httpTarget: {
          uri: args.target.uri,
          httpMethod: "POST",
          oidcToken: { serviceAccountEmail: this.account.email, audience: args.target.uri },
        },
      },
      { dependsOn: [invoker] },
    );
    this.registerOutputs({ job: this.job.id });
  }
}

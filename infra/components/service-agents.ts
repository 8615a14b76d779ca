// Google's service agents the stack grants roles to, as gcp.projects.ServiceIdentity resources: the
// identity is created (generateServiceIdentity) if the project does not have it yet, and its member
// comes from the API instead of a "service-<project number>@gcp-sa-..." string built here, which
// would name an account that may not exist yet on a fresh project (and IAM rejects such members).
// ServiceIdentity is a beta resource upstream; @pulumi/gcp ships one provider built from the beta
// provider, so the default provider serves it.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";

type Kinds = { identity: gcp.projects.ServiceIdentityArgs };

export interface ServiceAgentsArgs extends ComponentArgs<Kinds> {
  project: string;
}

export class ServiceAgents extends Component<Kinds> {
  /** service-<n>@gcp-sa-pubsub: pushes with OIDC tokens, forwards dead letters. */
  readonly pubsub: gcp.projects.ServiceIdentity;
  /**
   * service-<n>@gcp-sa-monitoring-notification, the agent of monitoring.googleapis.com: uptime checks
   * with service-agent authentication call the functions as it.
   */
  readonly monitoring: gcp.projects.ServiceIdentity;

  constructor(name: string, args: ServiceAgentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ServiceAgents", name, args.transform, opts);
    this.pubsub = this.child("identity", gcp.projects.ServiceIdentity, "pubsub", { project: args.project, service: "pubsub.googleapis.com" });
    this.monitoring = this.child("identity", gcp.projects.ServiceIdentity, "monitoring", { project: args.project, service: "monitoring.googleapis.com" });
    this.registerOutputs({ pubsub: this.pubsub.email, monitoring: this.monitoring.email });
  }
}

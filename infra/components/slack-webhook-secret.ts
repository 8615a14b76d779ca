// The Slack webhook URL as a Secret Manager secret: functions get it through
// secretEnvironmentVariables, never as a plain environment value.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { SlackWebhookRef } from "./pipeline-function.ts";
import type { Naming } from "../naming.ts";

type Kinds = { secret: gcp.secretmanager.SecretArgs; version: gcp.secretmanager.SecretVersionArgs };

export interface SlackWebhookSecretArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  secretId: string;
  /** A Pulumi secret (config.requireSecret). */
  webhookUrl: pulumi.Output<string>;
}

export class SlackWebhookSecret extends Component<Kinds> {
  readonly secret: gcp.secretmanager.Secret;
  readonly version: gcp.secretmanager.SecretVersion;
  readonly ref: SlackWebhookRef;

  constructor(name: string, args: SlackWebhookSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("SlackWebhookSecret", name, args.transform, opts);
    this.secret = this.child("secret", gcp.secretmanager.Secret, "secret", {
      secretId: args.naming.secretId(args.secretId),
      replication: { auto: {} },
      labels: args.naming.labels(),
    });
    this.version = this.child("version", gcp.secretmanager.SecretVersion, "version", {
      secret: this.secret.id,
      secretData: args.webhookUrl,
    });
    this.ref = { secretResourceId: this.secret.id, secretId: this.secret.secretId, version: this.version.version };
    this.registerOutputs({ secretId: this.secret.secretId });
  }
}

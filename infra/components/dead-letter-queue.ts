// A dead-letter topic with its own pull subscription (so dead letters are kept, counted and
// replayable) and the binding that lets the Pub/Sub service agent publish into it.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";

type Kinds = {
  topic: gcp.pubsub.TopicArgs;
  subscription: gcp.pubsub.SubscriptionArgs;
  publisherBinding: gcp.pubsub.TopicIAMMemberArgs;
};

export interface DeadLetterQueueArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  topicName: string;
  subscriptionName: string;
  retentionDays: number;
  /** IAM member of the Pub/Sub service agent ("serviceAccount:service-N@gcp-sa-pubsub..."). */
  pubsubServiceAgent: pulumi.Input<string>;
}

export class DeadLetterQueue extends Component<Kinds> {
  readonly topic: gcp.pubsub.Topic;
  readonly subscription: gcp.pubsub.Subscription;

  constructor(name: string, args: DeadLetterQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("DeadLetterQueue", name, args.transform, opts);
    const retention = `${args.retentionDays * 86400}s`;
    this.topic = this.child("topic", gcp.pubsub.Topic, "topic", {
      name: args.naming.pubsub(args.topicName),
      labels: args.naming.labels({ role: "dead-letter" }),
      messageRetentionDuration: retention,
    });
    this.subscription = this.child("subscription", gcp.pubsub.Subscription, "subscription", {
      name: args.naming.pubsub(args.subscriptionName),
      topic: this.topic.id,
      labels: args.naming.labels({ role: "dead-letter" }),
      // Pulled by people replaying dead letters (docs/runbooks/dead-letters.md): long deadline, long retention.
      ackDeadlineSeconds: 600,
      messageRetentionDuration: retention,
      retainAckedMessages: false,
      // Subscriptions without activity expire after 31 days by default; a dead-letter one is idle by design.
      expirationPolicy: { ttl: "" },
    });
    this.child("publisherBinding", gcp.pubsub.TopicIAMMember, "agent-publisher", {
      topic: this.topic.name,
      role: "roles/pubsub.publisher",
      member: args.pubsubServiceAgent,
    });
    this.registerOutputs({ topic: this.topic.id, subscription: this.subscription.id });
  }
}

// The delivery path of one transition: input topic -> push subscription -> the function's URL, with
// an OIDC token of a dedicated push account, an ack deadline that covers the function timeout,
// exponential backoff and a dead-letter topic; and, declared beside it, every IAM binding it needs
// (a redeploy that dropped the invoker binding once rejected pushes silently for a week).
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";
import type { StackConfig } from "../stack-config.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import { ACK_DEADLINE_SECONDS } from "../../functions/core/platform-limits.ts";
import type { PipelineFunction } from "./pipeline-function.ts";

type Kinds = {
  pushAccount: gcp.serviceaccount.AccountArgs;
  subscription: gcp.pubsub.SubscriptionArgs;
  invokerBinding: gcp.cloudrunv2.ServiceIamMemberArgs;
  subscriberBinding: gcp.pubsub.SubscriptionIAMMemberArgs;
  tokenCreatorBinding: gcp.serviceaccount.IAMMemberArgs;
};

export interface PushSubscriptionArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  /** Short base for the push account id (the transition id). */
  shortName: string;
  subscriptionName: string;
  deadLetterTopicName: string;
  deadLetterSubscriptionName: string;
  inputTopic: gcp.pubsub.Topic;
  target: PipelineFunction;
  push: StackConfig["push"];
  /** The function timeout; the ack deadline is never below it. */
  functionTimeoutSeconds: number;
  pubsubServiceAgent: pulumi.Input<string>;
}

/** Pub/Sub's ceiling for ackDeadlineSeconds. */
export const MAX_ACK_DEADLINE_SECONDS = ACK_DEADLINE_SECONDS.max;

/** The ack deadline for a push to a function with this timeout: at least the timeout (and Pub/Sub's minimum), at most its maximum. */
export function ackDeadlineFor(functionTimeoutSeconds: number): number {
  if (functionTimeoutSeconds > MAX_ACK_DEADLINE_SECONDS) {
    throw new Error(`function timeout ${functionTimeoutSeconds}s exceeds the largest ack deadline Pub/Sub allows (${MAX_ACK_DEADLINE_SECONDS}s)`);
  }
  return Math.max(ACK_DEADLINE_SECONDS.min, functionTimeoutSeconds);
}

export class PushSubscription extends Component<Kinds> {
  readonly subscription: gcp.pubsub.Subscription;
  readonly pushAccount: gcp.serviceaccount.Account;
  readonly deadLetter: DeadLetterQueue;

  constructor(name: string, args: PushSubscriptionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("PushSubscription", name, args.transform, opts);
    const { naming } = args;

    this.deadLetter = new DeadLetterQueue(
      this.childName("dlq"),
      {
        naming,
        topicName: args.deadLetterTopicName,
        subscriptionName: args.deadLetterSubscriptionName,
        retentionDays: args.push.deadLetterRetentionDays,
        pubsubServiceAgent: args.pubsubServiceAgent,
      },
      { parent: this },
    );

    this.pushAccount = this.child("pushAccount", gcp.serviceaccount.Account, "push-sa", {
      accountId: naming.serviceAccountId(args.shortName, "push"),
      displayName: `Pub/Sub push identity for ${args.target.spec.name}`,
      description: `OIDC identity of the push subscription ${args.subscriptionName}; may invoke only ${args.target.spec.name}.`,
    });
    const pushMember = pulumi.interpolate`serviceAccount:${this.pushAccount.email}`;

    // The push account may invoke this function's Cloud Run service, and nothing else.
    const invoker = this.child("invokerBinding", gcp.cloudrunv2.ServiceIamMember, "push-invoker", {
      project: args.project,
      location: args.region,
      name: args.target.serviceName,
      role: "roles/run.invoker",
      member: pushMember,
    });
    // The Pub/Sub service agent mints the OIDC tokens for the push account.
    const tokenCreator = this.child("tokenCreatorBinding", gcp.serviceaccount.IAMMember, "agent-token-creator", {
      serviceAccountId: this.pushAccount.name,
      role: "roles/iam.serviceAccountTokenCreator",
      member: args.pubsubServiceAgent,
    });

    this.subscription = this.child(
      "subscription",
      gcp.pubsub.Subscription,
      "subscription",
      {
        name: naming.pubsub(args.subscriptionName),
        topic: args.inputTopic.id,
        labels: naming.labels({ function: args.target.spec.name }),
        ackDeadlineSeconds: ackDeadlineFor(args.functionTimeoutSeconds),
        messageRetentionDuration: "604800s",
        expirationPolicy: { ttl: "" },
        pushConfig: {
          pushEndpoint: args.target.uri,
          oidcToken: { serviceAccountEmail: this.pushAccount.email, audience: args.target.uri },
        },
        retryPolicy: {
          minimumBackoff: `${args.push.minimumBackoffSeconds}s`,
          maximumBackoff: `${args.push.maximumBackoffSeconds}s`,
        },
        deadLetterPolicy: {
          deadLetterTopic: this.deadLetter.topic.id,
          maxDeliveryAttempts: args.push.maxDeliveryAttempts,
        },
      },
      // Pushing before the invoker and token bindings exist would be rejected (and retried into the DLQ).
      { dependsOn: [invoker, tokenCreator] },
    );
    // Forwarding to the dead-letter topic needs the service agent to subscribe to the source subscription.
    this.child("subscriberBinding", gcp.pubsub.SubscriptionIAMMember, "agent-subscriber", {
      subscription: this.subscription.name,
      role: "roles/pubsub.subscriber",
      member: args.pubsubServiceAgent,
    });
    this.registerOutputs({
      subscription: this.subscription.id,
      deadLetterTopic: this.deadLetter.topic.id,
      deadLetterSubscription: this.deadLetter.subscription.id,
    });
  }
}

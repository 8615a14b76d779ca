// Shadow mode's read side: one pull subscription ("tap") on each live trigger topic, so that what the
// existing orchestrator triggered can be read and compared with what ours decided
// (`npm run shadow:report`). A tap takes a copy of each message; the downstream consumers'
// subscriptions are untouched.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { tapSubscriptionName } from "../../functions/core/trigger-routing.ts";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";

/** Unread triggers are kept this long: the comparison covers several days of shadow running. */
export const TAP_RETENTION_SECONDS = 7 * 24 * 3600;

export interface ShadowTapsArgs extends ComponentArgs<{ tap: gcp.pubsub.SubscriptionArgs }> {
  naming: Naming;
  /** Live trigger topics by model name. */
  liveTopics: ReadonlyMap<string, gcp.pubsub.Topic>;
}

export class ShadowTaps extends Component<{ tap: gcp.pubsub.SubscriptionArgs }> {
  readonly taps: ReadonlyMap<string, gcp.pubsub.Subscription>;

  constructor(name: string, args: ShadowTapsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ShadowTaps", name, args.transform, opts);
    const taps = new Map<string, gcp.pubsub.Subscription>();
    for (const [topicName, topic] of [...args.liveTopics].sort(([a], [b]) => a.localeCompare(b))) {
      taps.set(
        topicName,
        this.child("tap", gcp.pubsub.Subscription, topicName, {
          name: args.naming.pubsub(tapSubscriptionName(topicName)),
          topic: topic.name,
          ackDeadlineSeconds: 60,
          messageRetentionDuration: `${TAP_RETENTION_SECONDS}s`,
          retainAckedMessages: false,
          // Never expires while the shadow period lasts, however quiet the topic is.
          expirationPolicy: { ttl: "" },
          labels: args.naming.labels({ purpose: "shadow-tap" }),
        }),
      );
    }
    this.taps = taps;
    this.registerOutputs({ taps: Object.fromEntries([...taps].map(([k, s]) => [k, s.name])) });
  }
}

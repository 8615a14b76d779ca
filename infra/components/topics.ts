// The pipeline's topics: every input and output topic of every transition, each declared once.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";

export interface PipelineTopicsArgs extends ComponentArgs<{ topic: gcp.pubsub.TopicArgs }> {
  naming: Naming;
  /** Model topic names (sport-prefixed); duplicates are declared once. */
  topicNames: readonly string[];
}

export class PipelineTopics extends Component<{ topic: gcp.pubsub.TopicArgs }> {
  /** Topic by model name. */
  readonly topics: ReadonlyMap<string, gcp.pubsub.Topic>;

  constructor(name: string, args: PipelineTopicsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("PipelineTopics", name, args.transform, opts);
    const topics = new Map<string, gcp.pubsub.Topic>();
    for (const topicName of [...new Set(args.topicNames)].sort()) {
      topics.set(
        topicName,
        this.child("topic", gcp.pubsub.Topic, topicName, {
          name: args.naming.pubsub(topicName),
          labels: args.naming.labels(),
        }),
      );
    }
    this.topics = topics;
    this.registerOutputs({ topics: Object.fromEntries([...topics].map(([k, t]) => [k, t.id])) });
  }

  topic(name: string): gcp.pubsub.Topic {
    const t = this.topics.get(name);
    if (t === undefined) throw new Error(`topic ${JSON.stringify(name)} is not declared`);
    return t;
  }
}

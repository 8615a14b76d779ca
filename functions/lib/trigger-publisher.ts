// Publishes triggers to Pub/Sub. Batching is off: a trigger is one message that must leave now,
// and publishMessage resolving means the server accepted it.
import type { PubSub, Topic } from "@google-cloud/pubsub";
import type { TriggerPublisher } from "./completion-tracker.ts";

export function createPubSubPublisher(pubsub: PubSub): TriggerPublisher {
  const topics = new Map<string, Topic>();
  const topicFor = (name: string): Topic => {
    let topic = topics.get(name);
    if (!topic) {
      topic = pubsub.topic(name, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
      topics.set(name, topic);
    }
    return topic;
  };
  return {
    publish: (topicName, payload, attributes) => topicFor(topicName).publishMessage({ json: payload, attributes }),
  };
}

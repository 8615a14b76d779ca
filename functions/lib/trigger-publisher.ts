// Publishes triggers to Pub/Sub. Batching is off: a trigger is one message that must leave now,
// and publishMessage resolving means the server accepted it.
import type { PubSub, Topic } from "@google-cloud/pubsub";
import type { TriggerPublisher } from "./completion-tracker.ts";
import { RETRY_PRESETS, worstCaseBudgetMs } from "./retry.ts";

/**
 * The longest one publish call lives in the client, its own retries included. The client retries a
 * refused publish for up to 10 minutes by default, so a call the tracker gave up on could land long
 * after the grace period, beside a republisher's copy: a duplicate trigger without any crash. Bounded
 * by the tracker's own publish budget, every copy of a call is out (or never will be) within it, and
 * the grace period counts it (publishGraceMsFor).
 */
export const PUBLISH_CALL_TIMEOUT_MS = worstCaseBudgetMs(RETRY_PRESETS.pubsubPublish);

export function createPubSubPublisher(pubsub: PubSub): TriggerPublisher {
  const topics = new Map<string, Topic>();
  const topicFor = (name: string): Topic => {
    let topic = topics.get(name);
    if (!topic) {
      // gax applies `timeout` as the total timeout of the call's retries as well as each attempt's.
      topic = pubsub.topic(name, { batching: { maxMessages: 1, maxMilliseconds: 0 }, gaxOpts: { timeout: PUBLISH_CALL_TIMEOUT_MS } });
      topics.set(name, topic);
    }
    return topic;
  };
  return {
    publish: (topicName, payload, attributes) => topicFor(topicName).publishMessage({ json: payload, attributes }),
  };
}

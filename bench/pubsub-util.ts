// Pub/Sub plumbing of the bench on the emulator: topics, a push subscription to a local URL, and a
// listener that timestamps what arrives on a topic.
import type { Message, PubSub, Subscription, Topic } from "@google-cloud/pubsub";
import { uniqueName } from "../tools/emulators/emulators.ts";

export async function ensureTopic(pubsub: PubSub, name: string): Promise<Topic> {
  const [topic] = await pubsub.topic(name).get({ autoCreate: true });
  return topic;
}

/** A topic handle that publishes each message at once (as the trigger publisher does). */
export function unbatchedTopic(pubsub: PubSub, name: string): Topic {
  return pubsub.topic(name, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
}

/** A push subscription from `topic` to `url`, with a short retry backoff (the bench's stand-in for the stack's). */
export async function pushSubscription(topic: Topic, url: string): Promise<Subscription> {
  const [sub] = await topic.createSubscription(uniqueName("bench-push"), {
    pushConfig: { pushEndpoint: url },
    ackDeadlineSeconds: 60,
    retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
  });
  return sub;
}

export interface Arrival {
  at: number;
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

export interface TopicListener {
  arrivals: Arrival[];
  /** Resolves with the first arrival matching `match` (already arrived or future), or rejects after timeoutMs. */
  waitFor(match: (a: Arrival) => boolean, timeoutMs: number): Promise<Arrival>;
  close(): Promise<void>;
}

/** Streaming-pull listener on a new subscription of `topic`: records every message with its arrival time. */
export async function listenTo(topic: Topic): Promise<TopicListener> {
  const [sub] = await topic.createSubscription(uniqueName("bench-listen"), { ackDeadlineSeconds: 60 });
  const arrivals: Arrival[] = [];
  const waiters: { match: (a: Arrival) => boolean; resolve: (a: Arrival) => void }[] = [];
  const onMessage = (m: Message) => {
    const arrival: Arrival = {
      at: performance.now(),
      data: JSON.parse(m.data.toString("utf8")) as Record<string, unknown>,
      attributes: m.attributes,
    };
    m.ack();
    arrivals.push(arrival);
    for (const w of waiters.splice(0)) {
      if (w.match(arrival)) w.resolve(arrival);
      else waiters.push(w);
    }
  };
  sub.on("message", onMessage);
  const errors: unknown[] = [];
  sub.on("error", (e: unknown) => errors.push(e));
  return {
    arrivals,
    waitFor(match, timeoutMs) {
      const found = arrivals.find(match);
      if (found) return Promise.resolve(found);
      if (errors.length > 0) return Promise.reject(new Error(`subscription failed: ${String(errors[0])}`));
      return new Promise<Arrival>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(entry);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no matching message on ${topic.name} within ${timeoutMs} ms${errors.length ? `; subscription error: ${String(errors[0])}` : ""}`));
        }, timeoutMs);
        const entry = {
          match,
          resolve: (a: Arrival) => {
            clearTimeout(timer);
            resolve(a);
          },
        };
        waiters.push(entry);
      });
    },
    async close() {
      sub.removeListener("message", onMessage);
      await sub.close();
    },
  };
}

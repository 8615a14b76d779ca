// Reads both sides of the shadow comparison. Ours: the phase-state documents in Firestore (every
// latched trigger with its payload and publish time; every document is a date that had completions).
// Theirs: the tap subscriptions on the live trigger topics, read without acknowledging (every message
// pulled is handed back when the tap has been read), so every run of the report sees the whole
// retention window.
import { Firestore } from "@google-cloud/firestore";
import { PubSub, v1 } from "@google-cloud/pubsub";
import { collectionNames } from "../../functions/core/firestore-collections.ts";
import type { PhaseStateDoc } from "../../functions/core/phase-state.ts";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { liveTriggerTopics, tapSubscriptionName } from "../../functions/core/trigger-routing.ts";
import type { ObservedTrigger } from "./compare.ts";
import type { ReportEndpoints } from "./endpoints.ts";

export interface ShadowSides {
  ours: ObservedTrigger[];
  existing: ObservedTrigger[];
  expected: { transitionId: string; gameDate: string }[];
}

/**
 * Runs `make` with the emulator variables set to exactly what `endpoints` says (unset for the cloud):
 * both clients read them in their constructors and give them precedence over their settings.
 */
function withEmulatorEnv<T>(endpoints: ReportEndpoints, make: () => T): T {
  const wanted = { FIRESTORE_EMULATOR_HOST: endpoints.firestoreEmulatorHost, PUBSUB_EMULATOR_HOST: endpoints.pubsubEmulatorHost };
  const previous = { FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST };
  const put = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  put(wanted);
  try {
    return make();
  } finally {
    put(previous);
  }
}

/**
 * How long one pull may wait for messages. Pub/Sub answers a pull at once when messages are
 * available and otherwise holds it open (up to its 60 s deadline); the tap is read to the end when a
 * pull finds nothing for this long.
 */
export const TAP_PULL_WAIT_MS = 5000;

const DEADLINE_EXCEEDED = 4;

/** What the report reads of a pulled message (google.pubsub.v1.IReceivedMessage). */
interface ReceivedMessage {
  ackId?: string | null;
  message?: { messageId?: string | null; data?: Uint8Array | string | null; publishTime?: { seconds?: unknown; nanos?: number | null } | null } | null;
}

/** One pull, bounded by TAP_PULL_WAIT_MS: no message within it means none is waiting ([]). Other errors throw. */
async function pullOnce(subscriber: v1.SubscriberClient, subscription: string): Promise<ReceivedMessage[]> {
  try {
    const [response] = await subscriber.pull({ subscription, maxMessages: 500 }, { timeout: TAP_PULL_WAIT_MS });
    return response.receivedMessages ?? [];
  } catch (error) {
    if ((error as { code?: unknown }).code === DEADLINE_EXCEEDED) return [];
    throw error;
  }
}

export async function readSides(opts: {
  projectId: string;
  firestorePrefix: string;
  pipeline: Pipeline;
  /** Emulators or Google Cloud (endpoints.ts): never implied by whatever this process's environment holds. */
  endpoints: ReportEndpoints;
  since: string | undefined;
  /** Only game dates up to this one (inclusive). */
  until?: string | undefined;
}): Promise<ShadowSides> {
  const inRange = (date: unknown): date is string =>
    typeof date === "string" && (opts.since === undefined || date >= opts.since) && (opts.until === undefined || date <= opts.until);
  const db = withEmulatorEnv(opts.endpoints, () => new Firestore({ projectId: opts.projectId }));
  const pubsub = withEmulatorEnv(opts.endpoints, () => new PubSub({ projectId: opts.projectId }));
  // The same endpoint and credentials the PubSub object resolved (the emulator too, when set).
  const subscriber = new v1.SubscriberClient({ ...(await pubsub.getClientConfig()) });
  try {
    const snap = await db.collection(collectionNames(opts.firestorePrefix).phaseState).get();
    const ours: ObservedTrigger[] = [];
    const expected: ShadowSides["expected"] = [];
    for (const doc of snap.docs) {
      const d = doc.data() as PhaseStateDoc;
      if (!inRange(d.gameDate)) continue;
      expected.push({ transitionId: d.transitionId, gameDate: d.gameDate });
      if (d.trigger?.publishedAt != null) ours.push({ transitionId: d.transitionId, gameDate: d.gameDate, at: new Date(d.trigger.publishedAt), payload: d.trigger.payload });
    }
    const existing: ObservedTrigger[] = [];
    for (const topic of liveTriggerTopics(opts.pipeline)) {
      const transition = opts.pipeline.transitions.find((t) => t.outputTopicName === topic)!;
      const subscription = subscriber.subscriptionPath(opts.projectId, tapSubscriptionName(topic));
      const seen = new Set<string>();
      // Every message pulled is held (not handed back) until the tap is read to the end, so each pull
      // brings new ones; then all are handed back at once, whatever happened, so the next report (or
      // another reader) sees them all again instead of waiting out their ack deadline.
      const held: string[] = [];
      try {
        for (;;) {
          const received = await pullOnce(subscriber, subscription);
          held.push(...received.map((m) => m.ackId!));
          // Nothing new: the tap is read (a message held past its ack deadline comes back, already seen).
          if (received.every((m) => seen.has(m.message?.messageId ?? ""))) break;
          for (const m of received) {
            const id = m.message?.messageId ?? "";
            if (seen.has(id)) continue;
            seen.add(id);
            const payload = JSON.parse(Buffer.from(m.message?.data ?? "").toString("utf8")) as Record<string, unknown>;
            const seconds = Number(m.message?.publishTime?.seconds ?? 0);
            if (inRange(payload.game_date)) existing.push({ transitionId: transition.id, gameDate: payload.game_date, at: new Date(seconds * 1000 + Math.floor(Number(m.message?.publishTime?.nanos ?? 0) / 1e6)), payload });
          }
        }
      } finally {
        if (held.length > 0) await subscriber.modifyAckDeadline({ subscription, ackIds: held, ackDeadlineSeconds: 0 });
      }
    }
    return { ours, existing, expected };
  } finally {
    await Promise.all([db.terminate(), subscriber.close(), pubsub.close()]);
  }
}

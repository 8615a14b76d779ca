// Reads both sides of the shadow comparison. Ours: the phase-state documents in Firestore (every
// latched trigger with its payload and publish time; every document is a date that had completions).
// Theirs: the tap subscriptions on the live trigger topics, read without acknowledging (each message
// is handed back at once), so every run of the report sees the whole retention window.
import { Firestore } from "@google-cloud/firestore";
import { PubSub, v1 } from "@google-cloud/pubsub";
import { collectionNames } from "../../functions/core/firestore-collections.ts";
import type { PhaseStateDoc } from "../../functions/core/phase-state.ts";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { liveTriggerTopics, tapSubscriptionName } from "../../functions/core/trigger-routing.ts";
import type { ObservedTrigger } from "./compare.ts";

export interface ShadowSides {
  ours: ObservedTrigger[];
  existing: ObservedTrigger[];
  expected: { transitionId: string; gameDate: string }[];
}

export async function readSides(opts: { projectId: string; firestorePrefix: string; pipeline: Pipeline; since: string | undefined }): Promise<ShadowSides> {
  const inRange = (date: unknown): date is string => typeof date === "string" && (opts.since === undefined || date >= opts.since);
  const db = new Firestore({ projectId: opts.projectId });
  const pubsub = new PubSub({ projectId: opts.projectId });
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
      for (;;) {
        const [response] = await subscriber.pull({ subscription, maxMessages: 500 });
        const received = (response.receivedMessages ?? []).filter((m) => !seen.has(m.message?.messageId ?? ""));
        if (received.length === 0) break;
        for (const m of received) {
          seen.add(m.message?.messageId ?? "");
          const payload = JSON.parse(Buffer.from(m.message?.data ?? "").toString("utf8")) as Record<string, unknown>;
          const seconds = Number(m.message?.publishTime?.seconds ?? 0);
          if (inRange(payload.game_date)) existing.push({ transitionId: transition.id, gameDate: payload.game_date, at: new Date(seconds * 1000 + Math.floor(Number(m.message?.publishTime?.nanos ?? 0) / 1e6)), payload });
        }
        // Hand them back at once: the tap keeps them for the next run.
        await subscriber.modifyAckDeadline({ subscription, ackIds: received.map((m) => m.ackId!), ackDeadlineSeconds: 0 });
      }
    }
    return { ours, existing, expected };
  } finally {
    await Promise.all([db.terminate(), subscriber.close(), pubsub.close()]);
  }
}

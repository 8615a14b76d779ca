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

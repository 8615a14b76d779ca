// The shadow report reads the existing system's side from the tap subscriptions without taking it:
// every message it pulled is handed back when it is done, so a second report right after the first
// (the daily report run twice, or `npm start -- --shadow` followed by `npm run shadow:report`) sees
// the same triggers. Against the shared Pub/Sub and Firestore emulators.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PubSub } from "@google-cloud/pubsub";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { liveTriggerTopics, tapSubscriptionName } from "../../functions/core/trigger-routing.ts";
import { readSides } from "../../tools/shadow-report/read.ts";
import { emulatorsDisabled, sharedEmulators } from "../harness/global-fixtures.ts";

describe("shadow:report: reading the taps", function () {
  this.timeout(180_000);

  it("hands back every message it pulled: reports run back to back see the same triggers", async function () {
    if (emulatorsDisabled()) this.skip();
    const { projectId, firestore, pubsub } = sharedEmulators();
    // A project of its own on the shared emulator, so the tap names cannot meet another test's.
    const project = `${projectId}-tap-${randomBytes(3).toString("hex")}`;
    const pipeline = loadPipeline(undefined);
    const ps = new PubSub({ projectId: project, apiEndpoint: pubsub.host });
    const topics = liveTriggerTopics(pipeline);
    try {
      for (const name of topics) {
        const [topic] = await ps.createTopic(name);
        await topic.createSubscription(tapSubscriptionName(name), { ackDeadlineSeconds: 60 });
      }
      // Two dates of triggers on every live topic, as the existing system publishes them.
      const dates = ["2026-11-27", "2026-11-28"];
      for (const name of topics) for (const d of dates) await ps.topic(name).publishMessage({ json: { game_date: d, trigger_id: `existing-${name}-${d}` } });
      const endpoints = { firestoreEmulatorHost: firestore.host, pubsubEmulatorHost: pubsub.host };
      const read = () => readSides({ projectId: project, firestorePrefix: "", pipeline, endpoints, since: undefined });
      const expected = topics.length * dates.length;
      for (let run = 1; run <= 3; run++) {
        const sides = await read();
        assert.equal(sides.existing.length, expected, `report ${run} saw ${sides.existing.length} of ${expected} triggers`);
      }
      const only28 = await readSides({ projectId: project, firestorePrefix: "", pipeline, endpoints, since: "2026-11-28", until: "2026-11-28" });
      assert.equal(only28.existing.length, topics.length);
      assert.ok(only28.existing.every((t) => t.gameDate === "2026-11-28"));
    } finally {
      await ps.close();
    }
  });
});

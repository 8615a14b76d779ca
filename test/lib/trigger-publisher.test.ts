// The trigger publisher against the real Pub/Sub emulator and client, behind the TCP fault proxy. A
// publish the tracker gave up on must not land after the grace period: the client's own retries of a
// refused publish are bounded by PUBLISH_CALL_TIMEOUT_MS (by default they go on for 10 minutes, and the
// message went out once the network healed, beside a republisher's copy).
import assert from "node:assert/strict";
import { PubSub, type Message, type Subscription } from "@google-cloud/pubsub";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";
import { createPubSubPublisher, PUBLISH_CALL_TIMEOUT_MS } from "../../functions/lib/trigger-publisher.ts";
import { DEFAULT_TRANSACTION_TIMEOUT_MS, publishGraceMsFor } from "../../functions/lib/completion-tracker.ts";
import { RETRY_PRESETS, worstCaseBudgetMs } from "../../functions/lib/retry.ts";
import { waitFor } from "../runtime/support.ts";

describe("trigger publisher: a refused publish ends in the client within its bound (Pub/Sub emulator behind a fault proxy)", function () {
  this.timeout(120_000);
  let proxy: TcpProxy;
  let viaProxy: PubSub;
  let direct: PubSub;
  let topicName: string;
  let subscription: Subscription;

  beforeEach(async () => {
    const { projectId, pubsub } = sharedEmulators();
    proxy = await startTcpProxy(pubsub.host);
    viaProxy = new PubSub({ projectId, apiEndpoint: proxy.host });
    direct = new PubSub({ projectId, apiEndpoint: pubsub.host });
    topicName = uniqueName("trigger-pub");
    const [topic] = await direct.createTopic(topicName);
    [subscription] = await topic.createSubscription(uniqueName("trigger-pub-sub"));
  });
  afterEach(async () => {
    await Promise.all([viaProxy.close(), direct.close()]);
    await proxy.close();
  });

  /** Every trigger id delivered to the subscription, read on the direct path. */
  function listen(): { ids: string[]; close(): Promise<void> } {
    const ids: string[] = [];
    const onMessage = (m: Message) => {
      ids.push(String(m.attributes.trigger_id));
      m.ack();
    };
    subscription.on("message", onMessage);
    return { ids, close: () => subscription.close() };
  }

  it("the bound is inside the grace period, after the tracker's own publish budget", () => {
    assert.equal(PUBLISH_CALL_TIMEOUT_MS, worstCaseBudgetMs(RETRY_PRESETS.pubsubPublish));
    assert.ok(publishGraceMsFor(DEFAULT_TRANSACTION_TIMEOUT_MS) > worstCaseBudgetMs(RETRY_PRESETS.pubsubPublish) + PUBLISH_CALL_TIMEOUT_MS);
  });

  it("publish refused for longer than the bound: the call fails, and once the network heals nothing is sent late; the next publish goes out", async () => {
    const received = listen();
    const publisher = createPubSubPublisher(viaProxy);
    // A publish is tried again until accepted, as the tracker's retries and Pub/Sub's redeliveries do: on
    // a busy machine a first call or one right after the heal (the channel reconnecting) can outlive its bound.
    const publishUntilAccepted = (id: string, n: number) =>
      waitFor(`the publish of ${id} to be accepted`, () => publisher.publish(topicName, { n }, { trigger_id: id }).then(() => true, () => false), 120_000);
    // A first publish opens the client's channel, so the refusal below cuts a live connection too.
    await publishUntilAccepted("warm-up", 0);
    proxy.setMode("refuse");
    const refused = publisher.publish(topicName, { n: 1 }, { trigger_id: "given-up" });
    await assert.rejects(refused, "a publish refused for good must fail in the client, not retry for minutes");
    proxy.setMode("pass");

    await publishUntilAccepted("after-heal", 2);
    await waitFor("the triggers sent to arrive", () => received.ids.includes("after-heal") && received.ids.includes("warm-up"));
    // Long enough for a client still retrying the refused call to reconnect and send it: the next
    // publish already went through the healed channel.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(received.ids.filter((id) => id === "given-up").length, 0, `sent late: ${received.ids.join(", ")}`);
    await received.close();
  });
});

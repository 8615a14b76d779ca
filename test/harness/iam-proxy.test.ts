// The IAM proxy against the real Pub/Sub emulator: granted calls reach the emulator (unary and
// streaming, errors and trailers intact), others are refused with PERMISSION_DENIED before they do,
// and TestIamPermissions is answered from the grants.
import assert from "node:assert/strict";
import { PubSub, type Message } from "@google-cloud/pubsub";
import { sharedEmulators } from "./global-fixtures.ts";
import { pubsubAt } from "../../tools/emulators/clients.ts";
import { holds, lengthDelimitedFields, startIamProxy, type IamProxy } from "./iam-proxy.ts";
import { uniqueName } from "../../tools/emulators/emulators.ts";

const PERMISSION_DENIED = 7;
const NOT_FOUND = 5;

async function grpcCode(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

describe("iam-proxy: pure parts", () => {
  it("reads top-level string fields of a protobuf message", () => {
    // { 1: "projects/p/topics/t", 2: ["a", "bc"], 3: varint 150 }
    const msg = Buffer.from([0x0a, 19, ...Buffer.from("projects/p/topics/t"), 0x12, 1, 0x61, 0x12, 2, 0x62, 0x63, 0x18, 0x96, 0x01]);
    const fields = lengthDelimitedFields(msg);
    assert.equal(fields.get(1)?.[0]?.toString(), "projects/p/topics/t");
    assert.deepEqual(fields.get(2)?.map((b) => b.toString()), ["a", "bc"]);
    assert.equal(fields.has(3), false);
  });

  it("a grant covers its resource and what is under it, never a sibling", () => {
    const grants = [
      { resource: "projects/p/topics/out", permissions: ["pubsub.topics.publish"] },
      { resource: "projects/q", permissions: ["pubsub.topics.get"] },
    ];
    assert.equal(holds(grants, "pubsub.topics.publish", "projects/p/topics/out"), true);
    assert.equal(holds(grants, "pubsub.topics.publish", "projects/p/topics/out2"), false);
    assert.equal(holds(grants, "pubsub.topics.get", "projects/p/topics/out"), false);
    assert.equal(holds(grants, "pubsub.topics.get", "projects/q/topics/any"), true);
    assert.equal(holds(grants, "pubsub.topics.get", "projects/qq/topics/any"), false);
  });
});

describe("iam-proxy: in front of the Pub/Sub emulator", function () {
  this.timeout(60_000);
  let projectId: string;
  let direct: PubSub;
  let proxy: IamProxy;
  let viaProxy: PubSub;
  let granted: string;
  let other: string;
  let subscription: string;

  before(async () => {
    const emulators = sharedEmulators();
    projectId = emulators.projectId;
    direct = new PubSub({ projectId });
    granted = uniqueName("iam-granted");
    other = uniqueName("iam-other");
    subscription = uniqueName("iam-sub");
    await direct.createTopic(granted);
    await direct.createTopic(other);
    await direct.topic(granted).createSubscription(subscription);
    proxy = await startIamProxy({ target: emulators.pubsub.host, grants: [] });
    viaProxy = pubsubAt(proxy.host, projectId);
  });
  after(async () => {
    await viaProxy.close();
    await direct.close();
    await proxy.close();
  });

  const topicPath = (name: string) => `projects/${projectId}/topics/${name}`;

  it("publish with pubsub.topics.publish on the topic reaches the emulator; topics.get and another topic are refused", async () => {
    proxy.setGrants([{ resource: topicPath(granted), permissions: ["pubsub.topics.publish"] }]);
    const id = await viaProxy.topic(granted).publishMessage({ json: { n: 1 } });
    assert.match(id, /\S/);
    await assert.rejects(viaProxy.topic(granted).getMetadata(), (err: { code?: number; details?: string }) => {
      assert.equal(err.code, PERMISSION_DENIED, "topics.get is not in the grant");
      assert.equal(err.details, `User not authorized to perform this action: pubsub.topics.get on ${topicPath(granted)}`);
      return true;
    });
    assert.equal(await grpcCode(viaProxy.topic(other).publishMessage({ json: { n: 2 } })), PERMISSION_DENIED);
    const outcomes = proxy.calls.map((c) => `${c.method.split("/").pop()}:${c.outcome}`);
    assert.deepEqual(outcomes.slice(-3), ["Publish:forwarded", "GetTopic:denied", "Publish:denied"]);
  });

  it("answers TestIamPermissions from the grants (the emulator does not implement it)", async () => {
    proxy.setGrants([{ resource: topicPath(granted), permissions: ["pubsub.topics.publish"] }]);
    const [onGranted] = await viaProxy.topic(granted).iam.testPermissions(["pubsub.topics.publish", "pubsub.topics.get"]);
    assert.deepEqual(onGranted, { "pubsub.topics.publish": true, "pubsub.topics.get": false });
    const [onOther] = await viaProxy.topic(other).iam.testPermissions(["pubsub.topics.publish"]);
    assert.deepEqual(onOther, { "pubsub.topics.publish": false });
    assert.equal(await grpcCode(direct.topic(granted).iam.testPermissions(["pubsub.topics.publish"])), 12, "the emulator itself: UNIMPLEMENTED");
  });

  it("a project-level grant covers every topic; the emulator's own errors (NOT_FOUND) pass through", async () => {
    proxy.setGrants([{ resource: `projects/${projectId}`, permissions: ["pubsub.topics.get"] }]);
    const [metadata] = await viaProxy.topic(other).getMetadata();
    assert.equal(metadata.name, topicPath(other));
    assert.equal(await grpcCode(viaProxy.topic(uniqueName("iam-missing")).getMetadata()), NOT_FOUND);
  });

  it("a method outside its table is refused (fail closed)", async () => {
    proxy.setGrants([{ resource: `projects/${projectId}`, permissions: ["pubsub.topics.update", "pubsub.topics.get"] }]);
    assert.equal(await grpcCode(viaProxy.topic(granted).setMetadata({ labels: { a: "b" } })), PERMISSION_DENIED);
    assert.equal(proxy.calls.at(-1)?.outcome, "denied");
  });

  it("streams: a streaming pull with pubsub.subscriptions.consume receives a message through the proxy", async () => {
    const subPath = `projects/${projectId}/subscriptions/${subscription}`;
    proxy.setGrants([{ resource: subPath, permissions: ["pubsub.subscriptions.consume"] }]);
    await direct.topic(granted).publishMessage({ json: { streamed: true } });
    const sub = viaProxy.subscription(subscription);
    try {
      const received = await new Promise<Message>((resolve, reject) => {
        sub.once("message", resolve);
        sub.once("error", reject);
      });
      received.ack();
      assert.ok(received.data.length > 0);
    } finally {
      await sub.close();
    }
    assert.ok(proxy.calls.some((c) => c.method.endsWith("/StreamingPull") && c.outcome === "forwarded"));
  });
});

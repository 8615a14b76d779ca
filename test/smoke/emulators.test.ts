// Proves the shared emulators are real and really used by the real Google clients:
// Firestore transactions (including a contended one that the client retries), Pub/Sub push delivery
// with redelivery after a 500, and clearFirestore() emptying the database.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { firestoreAt } from "../../tools/emulators/clients.ts";
import { clearFirestore, uniqueName } from "../../tools/emulators/emulators.ts";
import { mochaHooks, sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";

describe("smoke: shared emulators", function () {
  before(function () {
    if (process.env.TEST_NO_EMULATORS === "1") this.skip();
  });

  it("points the clients' environment variables at the shared emulators", () => {
    const { firestore, pubsub, projectId } = sharedEmulators();
    assert.equal(process.env.FIRESTORE_EMULATOR_HOST, firestore.host);
    assert.equal(process.env.PUBSUB_EMULATOR_HOST, pubsub.host);
    assert.equal(process.env.GCLOUD_PROJECT, projectId);
    assert.equal(process.env.GOOGLE_CLOUD_PROJECT, projectId);
    assert.match(firestore.host, /^127\.0\.0\.1:\d+$/);
  });

  it("refuses to let a test stop or restart a shared emulator", async () => {
    const { firestore, pubsub } = sharedEmulators();
    await assert.rejects(firestore.stop(), /must not be stopped/);
    await assert.rejects(pubsub.restart(), /must not be stopped/);
  });

  describe("Firestore", () => {
    let db: Firestore;
    beforeEach(() => {
      db = new Firestore({ projectId: sharedEmulators().projectId });
    });
    afterEach(async () => {
      await db.terminate();
    });

    it("commits a read-modify-write transaction that the emulator's REST API then shows", async () => {
      const ref = db.collection(uniqueName("smoke")).doc("counter");
      await ref.set({ count: 41 });
      const seen = await db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const count = Number(snapshot.get("count"));
        tx.update(ref, { count: count + 1 });
        return count;
      });
      assert.equal(seen, 41);

      // Read the document over the emulator's own REST endpoint: the client wrote to this emulator.
      const { firestore, projectId } = sharedEmulators();
      const response = await fetch(
        `http://${firestore.host}/v1/projects/${projectId}/databases/(default)/documents/${ref.path}`,
        { headers: { authorization: "Bearer owner" } },
      );
      assert.equal(response.status, 200);
      const document = (await response.json()) as { fields: { count: { integerValue: string } } };
      assert.equal(document.fields.count.integerValue, "42");
    });

    it("retries a transaction that conflicts with a concurrent one, and loses no increment", async () => {
      const ref = db.collection(uniqueName("smoke")).doc("contended");
      await ref.set({ count: 0 });
      let attempts = 0;
      let reads = 0;
      let releaseBothReads!: () => void;
      const bothRead = new Promise<void>((resolve) => (releaseBothReads = resolve));

      // Both transactions read the same value before either writes: they cannot both commit as first tried.
      const increment = (): Promise<void> =>
        db.runTransaction(async (tx) => {
          attempts += 1;
          const snapshot = await tx.get(ref);
          reads += 1;
          if (reads >= 2) releaseBothReads();
          await bothRead;
          tx.update(ref, { count: Number(snapshot.get("count")) + 1 });
        });
      await Promise.all([increment(), increment()]);

      assert.equal((await ref.get()).get("count"), 2);
      assert.ok(attempts > 2, `expected at least one retried attempt, saw ${attempts} attempts`);
    });

    it("clearFirestore() deletes every document, nested ones included", async () => {
      const { firestore, projectId } = sharedEmulators();
      const top = db.collection(uniqueName("clear-a")).doc("one");
      const nested = top.collection("children").doc("two");
      const other = db.collection(uniqueName("clear-b")).doc("three");
      await Promise.all([top.set({ a: 1 }), nested.set({ b: 2 }), other.set({ c: 3 })]);
      assert.ok((await db.listCollections()).length >= 2);

      await clearFirestore(firestore.host, projectId);

      const snapshots = await Promise.all([top.get(), nested.get(), other.get()]);
      assert.deepEqual(
        snapshots.map((snapshot) => snapshot.exists),
        [false, false, false],
      );
      assert.deepEqual(await db.listCollections(), []);
    });

    it("the root beforeEach hook empties the database", async function () {
      await db.collection(uniqueName("left-behind")).doc("x").set({ stale: true });
      assert.equal((await db.listCollections()).length, 1);
      await mochaHooks.beforeEach.call(this);
      assert.deepEqual(await db.listCollections(), []);
    });
  });

  describe("through the TCP proxy", () => {
    let proxy: TcpProxy;
    let viaProxy: Firestore;
    let direct: Firestore;
    beforeEach(async () => {
      const { firestore, projectId } = sharedEmulators();
      proxy = await startTcpProxy(firestore.host);
      viaProxy = firestoreAt(proxy.host, projectId);
      direct = new Firestore({ projectId });
    });
    afterEach(async () => {
      await Promise.all([viaProxy.terminate(), direct.terminate()]);
      await proxy.close();
    });

    it("a stall holds a real client's write until the network passes again", async () => {
      const path = `${uniqueName("proxied")}/doc`;
      await viaProxy.doc(path).set({ step: 1 });
      assert.ok(proxy.acceptedConnections >= 1, "the client's traffic went through the proxy");
      assert.equal(process.env.FIRESTORE_EMULATOR_HOST, sharedEmulators().firestore.host, "firestoreAt restored the env");
      assert.equal((await direct.doc(path).get()).get("step"), 1);

      proxy.setMode("stall");
      const write = viaProxy.doc(path).set({ step: 2 });
      const outcome = await Promise.race([
        write.then(() => "written"),
        new Promise((resolve) => setTimeout(resolve, 1_000, "still waiting")),
      ]);
      assert.equal(outcome, "still waiting");
      assert.equal((await direct.doc(path).get()).get("step"), 1, "nothing reached the emulator");

      proxy.setMode("pass");
      await write;
      assert.equal((await direct.doc(path).get()).get("step"), 2);
    });
  });

  describe("Pub/Sub push", () => {
    let pubsub: PubSub;
    let server: http.Server;
    let pushUrl: string;
    const deliveries: Array<{ body: PushBody; answeredWith: number }> = [];
    let answerFor: (attempt: number) => number = () => 204;
    let delivered: () => void = () => undefined;

    interface PushBody {
      subscription: string;
      message: { data: string; messageId: string; attributes?: Record<string, string> };
    }

    beforeEach(async () => {
      deliveries.length = 0;
      pubsub = new PubSub({ projectId: sharedEmulators().projectId });
      server = http.createServer((req, res) => {
        let raw = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (raw += chunk));
        req.on("end", () => {
          const status = answerFor(deliveries.length + 1);
          deliveries.push({ body: JSON.parse(raw) as PushBody, answeredWith: status });
          res.writeHead(status).end();
          delivered();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      pushUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
    });

    afterEach(async () => {
      await pubsub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    /** Resolves once `count` deliveries arrived; rejects after timeoutMs. */
    function waitForDeliveries(count: number, timeoutMs: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} push deliveries within ${timeoutMs} ms, got ${deliveries.length}`)),
          timeoutMs,
        );
        const check = (): void => {
          if (deliveries.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        };
        delivered = check;
        check();
      });
    }

    async function pushSubscription(): Promise<{ publish: (payload: unknown) => Promise<string>; name: string }> {
      const [topic] = await pubsub.createTopic(uniqueName("smoke-topic"));
      const name = uniqueName("smoke-push");
      await topic.createSubscription(name, {
        pushConfig: { pushEndpoint: pushUrl },
        ackDeadlineSeconds: 10,
        // Short backoff so a redelivery comes within the test's time.
        retryPolicy: { minimumBackoff: { seconds: 0 }, maximumBackoff: { seconds: 1 } },
      });
      return { publish: (payload) => topic.publishMessage({ json: payload }), name };
    }

    it("delivers a published message to a push endpoint, body and attributes intact", async () => {
      answerFor = () => 204;
      const { publish, name } = await pushSubscription();
      const payload = { processor_name: "SmokeProcessor", game_date: "2026-01-15", nested: { ok: true } };
      const messageId = await publish(payload);
      await waitForDeliveries(1, 15_000);

      const [first] = deliveries;
      assert.ok(first);
      assert.equal(first.body.message.messageId, messageId);
      assert.equal(first.body.subscription, `projects/${sharedEmulators().projectId}/subscriptions/${name}`);
      assert.deepEqual(JSON.parse(Buffer.from(first.body.message.data, "base64").toString("utf8")), payload);
    });

    it("redelivers a message whose push was answered 500, until it is acknowledged", async () => {
      answerFor = (attempt) => (attempt === 1 ? 500 : 204);
      const { publish } = await pushSubscription();
      const messageId = await publish({ attempt: "redelivery" });
      await waitForDeliveries(2, 20_000);

      const [first, second] = deliveries;
      assert.ok(first && second);
      assert.equal(first.answeredWith, 500);
      assert.equal(second.answeredWith, 204);
      assert.equal(second.body.message.messageId, messageId);
      assert.equal(second.body.message.data, first.body.message.data);

      // Acknowledged by the 204: no further delivery comes.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal(deliveries.length, 2);
    });
  });
});

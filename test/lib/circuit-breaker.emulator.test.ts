// The breaker in front of the real Firestore emulator, with the network failing under it.
// A refused connection does not fail a Firestore call quickly (the client waits for the channel), so
// the breaker's own call timeout (ETIMEDOUT, transient) is what counts the failures here: a refused
// call fails at that bound whatever the machine's speed. Calls that must succeed never pay for a
// connection inside the breaker: the client connects before the breaker exists, and after the heal
// a write outside the breaker waits out gRPC's reconnect backoff before the breaker's trial write.
import assert from "node:assert/strict";
import type { Firestore } from "@google-cloud/firestore";
import { createBreaker, type Breaker } from "../../functions/lib/circuit-breaker.ts";
import { CircuitOpenError } from "../../functions/lib/errors.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";
import { firestoreVia } from "./firestore-via.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("circuit-breaker: real Firestore emulator behind a refused TCP proxy", function () {
  this.timeout(120_000);
  let proxy: TcpProxy;
  let db: Firestore;
  let breaker: Breaker | undefined;

  before(async () => {
    proxy = await startTcpProxy(sharedEmulators().firestore.host);
    db = firestoreVia(proxy.port, sharedEmulators().projectId);
  });
  after(async () => {
    breaker?.shutdown();
    proxy.setMode("pass");
    await db.terminate();
    await proxy.close();
  });

  it("closed -> open after 2 consecutive failures -> fails fast -> half-open -> closed after the network heals", async () => {
    const cap = captureLogs();
    // The client's first connection is made outside the breaker, so no bound applies to its set-up.
    await db.doc("breaker/warm-up").set({ n: 0 });
    const b = createBreaker("firestore-emulator", { failureThreshold: 2, resetTimeoutMs: 3000, timeoutMs: 4000, logger: cap.logger });
    breaker = b;
    let writes = 0;
    const write = () => b.fire(() => {
      writes++;
      return db.doc(`breaker/doc${writes}`).set({ n: writes });
    });

    await write();
    assert.equal(b.state, "closed");

    proxy.setMode("refuse");
    for (let i = 0; i < 2; i++) {
      const err = await write().then(() => assert.fail("should fail while refused"), (e: unknown) => e as { code?: string });
      assert.equal(err.code, "ETIMEDOUT");
    }
    assert.equal(b.state, "open");
    assert.equal(cap.find("ERROR", "circuit firestore-emulator opened").length, 1);

    // Fails fast without touching the network: rejected by the open circuit, the write never called
    // (asserted by what happened, not by a wall-clock bound a loaded machine could miss).
    const callsBefore = writes;
    const fast = await write().then(() => assert.fail("should fail fast"), (e: unknown) => e);
    assert.ok(fast instanceof CircuitOpenError);
    assert.equal(writes, callsBefore);

    proxy.setMode("pass");
    await db.doc("breaker/reconnected").set({ n: 0 });
    await sleep(3100);
    assert.equal(b.state, "half_open");
    assert.equal(cap.find("WARNING", "half-open").length, 1);

    await write();
    assert.equal(b.state, "closed");
    assert.equal(cap.find("WARNING", "closed: dependency recovered").length, 1);
    const snap = await db.doc(`breaker/doc${writes}`).get();
    assert.equal(snap.get("n"), writes, "the trial write really reached the emulator");
  });
});

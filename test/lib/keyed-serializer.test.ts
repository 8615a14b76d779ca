import assert from "node:assert/strict";
import { createKeyedSerializer } from "../../functions/lib/keyed-serializer.ts";

const tick = () => new Promise((r) => setImmediate(r));

describe("keyed serializer: one at a time per key", () => {
  it("runs work of one key in order, never overlapping; other keys run alongside", async () => {
    const run = createKeyedSerializer();
    let active = 0;
    let maxActive = 0;
    const order: string[] = [];
    const job = (name: string) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await tick();
      order.push(name);
      active--;
      return name;
    };
    const other = run("b", async () => {
      order.push("b-started");
      return "b";
    });
    const results = await Promise.all([run("a", job("a1")), run("a", job("a2")), run("a", job("a3")), other]);
    assert.deepEqual(results, ["a1", "a2", "a3", "b"]);
    assert.equal(maxActive, 1);
    assert.deepEqual(order.filter((o) => o.startsWith("a")), ["a1", "a2", "a3"]);
  });

  it("a failure reaches its caller and does not block the next run of the key", async () => {
    const run = createKeyedSerializer();
    const failed = run("k", async () => {
      throw new Error("boom");
    });
    const next = run("k", async () => "after");
    await assert.rejects(failed, /boom/);
    assert.equal(await next, "after");
  });
});

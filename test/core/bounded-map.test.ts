// The size-capped map behind in-memory de-dup state: never more than its capacity, the entry written
// longest ago goes first, and rewriting an entry makes it the newest.
import assert from "node:assert/strict";
import fc from "fast-check";
import { BoundedMap } from "../../functions/core/bounded-map.ts";

describe("core/bounded-map", () => {
  it("holds at most `capacity` entries, evicting the least recently written", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (capacity, keys) => {
        const m = new BoundedMap<number, number>(capacity);
        const order: number[] = []; // model: keys by last write, oldest first
        for (const [i, k] of keys.entries()) {
          const evicted = m.set(k, i).map(([key]) => key);
          const at = order.indexOf(k);
          if (at >= 0) order.splice(at, 1);
          order.push(k);
          const expectedEvicted = order.length > capacity ? order.splice(0, order.length - capacity) : [];
          assert.deepEqual(evicted, expectedEvicted);
          assert.ok(m.size <= capacity);
          assert.deepEqual([...m.keys()], order);
          assert.equal(m.get(k), i);
        }
      }),
    );
  });

  it("refuses a capacity that is not a positive integer", () => {
    assert.throws(() => new BoundedMap(0), /positive integer/);
    assert.throws(() => new BoundedMap(1.5), /positive integer/);
  });
});

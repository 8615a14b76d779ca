// function-instance-sizing: the stacks pass; a concurrency above 1 without 1 CPU, or memory the CPU
// cannot hold, is a mandatory violation (Cloud Run would reject the update).
import assert from "node:assert/strict";
import { functionInstanceSizing } from "../../policies/rules/function-instance-sizing.ts";
import { check, edit, environmentOf, find, MODES, obj, planned, STACKS, T } from "./fixtures.ts";

describe("policies: function-instance-sizing", function () {
  this.timeout(180_000);

  it("is mandatory", () => assert.equal(functionInstanceSizing.enforcementLevel, "mandatory"));

  for (const stack of STACKS) {
    it(`the ${stack} stack passes`, async () => {
      assert.deepEqual(await check(functionInstanceSizing, await planned(stack, MODES[0]), await environmentOf(stack)), []);
    });
  }

  it("reports concurrency above 1 on the CPU derived from 512Mi", async () => {
    const resources = await planned("dev");
    edit(find(resources, T.function, "phase2-to-phase3"), (p) => (obj(p, "serviceConfig").maxInstanceRequestConcurrency = 8));
    const found = await check(functionInstanceSizing, resources);
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /concurrency 8 needs at least 1 CPU/);
  });

  it("accepts concurrency above 1 with availableCpu 1, and reports 2Gi on half a CPU", async () => {
    const resources = await planned("dev");
    edit(find(resources, T.function, "phase2-to-phase3"), (p) => Object.assign(obj(p, "serviceConfig"), { maxInstanceRequestConcurrency: 8, availableCpu: "1" }));
    assert.deepEqual(await check(functionInstanceSizing, resources), []);
    edit(find(resources, T.function, "phase3-to-phase4"), (p) => Object.assign(obj(p, "serviceConfig"), { availableMemory: "2Gi", availableCpu: "0.5" }));
    const found = await check(functionInstanceSizing, resources);
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /above 1Gi\) needs at least 1 CPU/);
  });
});

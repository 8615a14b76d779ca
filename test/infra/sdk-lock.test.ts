// One evaluation of the Pulumi program at a time across the plan and the policy capture: both
// install process-global SDK state (config, mocks, monitor), so one must not start while the other runs.
import assert from "node:assert/strict";
import * as path from "node:path";
import { evaluateStack } from "../../tools/plan/evaluate.ts";
import { captureStack } from "../../tools/plan/policy-capture.ts";
import { withPulumiRuntime } from "../../tools/plan/sdk-lock.ts";
import { ROOT } from "./helpers.ts";

/** Polls `condition` every 20 ms until it holds or `ms` pass; says whether it held. */
async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe("the Pulumi runtime lock (tools/plan/sdk-lock.ts)", function () {
  this.timeout(120_000);

  it("tasks run one at a time, in order; a failed task reaches its caller and does not block the next", async () => {
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = withPulumiRuntime(async () => {
      log.push("first:start");
      await held;
      log.push("first:end");
      return 1;
    });
    const failing = withPulumiRuntime(async () => {
      log.push("failing:start");
      throw new Error("boom");
    });
    const last = withPulumiRuntime(async () => {
      log.push("last:start");
      return 3;
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ["first:start"]);
    release();
    assert.equal(await first, 1);
    await assert.rejects(failing, /boom/);
    assert.equal(await last, 3);
    assert.deepEqual(log, ["first:start", "first:end", "failing:start", "last:start"]);
  });

  it("a policy capture does not start while a plan evaluation holds the runtime", async () => {
    let open!: () => void;
    const gate = { events: [] as string[], open: new Promise<void>((r) => (open = r)) };
    (globalThis as { __pulumiRuntimeGate?: typeof gate }).__pulumiRuntimeGate = gate;
    const programFile = path.join(ROOT, "test/infra/fixtures/gated-program.ts");
    try {
      const plan = evaluateStack("dev", { programFile });
      const capture = captureStack("dev", { programFile });
      assert.ok(await eventually(() => gate.events.length > 0, 60_000), "the plan's program started");
      // Whatever runs second needs well under a second to reach the program; give it plenty.
      const overlapped = await eventually(() => gate.events.length > 1, 5_000);
      assert.equal(overlapped, false, `the capture entered while the plan held the runtime: ${gate.events.join(", ")}`);
      open();
      await Promise.all([plan, capture]);
      assert.deepEqual(gate.events, ["enter", "exit", "enter", "exit"]);
    } finally {
      open();
      delete (globalThis as { __pulumiRuntimeGate?: typeof gate }).__pulumiRuntimeGate;
    }
  });
});

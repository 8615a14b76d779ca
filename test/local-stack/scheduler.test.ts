// The local Cloud Scheduler: each declared job calls its function with the declared method, again
// and again (what `npm start -- --keep-running` relies on), skips a function that is not running,
// and stops when told.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startScheduler } from "../../tools/local-stack/scheduler.ts";
import type { LocalStack } from "../../tools/local-stack/stack.ts";

const waitFor = async (cond: () => boolean, what: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("local stack: the scheduler", () => {
  it("calls every job's function repeatedly with its method, skips one not running, stops on stop()", async () => {
    const calls: string[] = [];
    const server = createServer((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      res.writeHead(200).end("{}");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let sweeperRunning = true;
    const fn = (running: () => boolean) => ({ running }) as never;
    const stack = {
      plan: { schedules: [{ name: "sweep", schedule: "*/10 * * * *", functionName: "sweeper", httpMethod: "POST" }, { name: "rec", schedule: "0 * * * *", functionName: "reconciler", httpMethod: "GET" }] },
      functions: new Map([
        ["sweeper", fn(() => sweeperRunning)],
        ["reconciler", fn(() => false)],
      ]),
      urls: new Map([
        ["sweeper", url],
        ["reconciler", url],
      ]),
    } as unknown as Pick<LocalStack, "plan" | "functions" | "urls">;
    const failures: unknown[] = [];
    const scheduler = startScheduler(stack, { intervalMs: 50, log: () => undefined, track: (p) => void p.catch((e: unknown) => failures.push(e)) });
    try {
      assert.equal(scheduler.overrides.length, 2);
      await waitFor(() => calls.length >= 3, "three scheduler calls");
      assert.ok(calls.every((c) => c === "POST /"), calls.join(", "));
      sweeperRunning = false;
      const skipped = scheduler.calls.get("sweeper");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(scheduler.calls.get("sweeper"), skipped, "no call while the function is not running");
      assert.equal(scheduler.calls.get("reconciler"), undefined);
      sweeperRunning = true;
      await waitFor(() => (scheduler.calls.get("sweeper") ?? 0) > skipped!, "calls after it runs again");
    } finally {
      scheduler.stop();
    }
    const after = scheduler.calls.get("sweeper");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(scheduler.calls.get("sweeper"), after, "no call after stop()");
    server.closeAllConnections();
    server.close();
    assert.deepEqual(failures, []);
  });
});

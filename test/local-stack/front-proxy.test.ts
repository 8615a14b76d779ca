// The front proxy of `npm start -- --instances N`: requests spread over the instances, never more at
// once per instance than its concurrency (a request waits at the proxy until one is free), an
// instance that is not listening yet makes requests wait instead of failing, a dead one answers 5xx.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { pickInstance, startFrontProxy, type FrontProxy } from "../../tools/local-stack/front-proxy.ts";
import { findFreePort } from "../../tools/local-stack/emulators.ts";
import * as path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** An instance that holds every request until released and records how many it had at once. */
interface FakeInstance {
  port: number;
  held: http.ServerResponse[];
  maxConcurrent: number;
  received: number;
  close(): Promise<void>;
}

async function fakeInstance(port = 0): Promise<FakeInstance> {
  let current = 0;
  const inst: FakeInstance = { port, held: [], maxConcurrent: 0, received: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("end", () => {
      current += 1;
      inst.received += 1;
      inst.maxConcurrent = Math.max(inst.maxConcurrent, current);
      res.on("finish", () => (current -= 1));
      res.setHeader("x-echo", body);
      inst.held.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  inst.port = (server.address() as AddressInfo).port;
  inst.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return inst;
}

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const post = (proxy: FrontProxy, body: string) =>
  fetch(`http://${proxy.host}/`, { method: "POST", body, headers: { "content-type": "text/plain" } }).then(async (r) => ({ status: r.status, echo: r.headers.get("x-echo"), text: await r.text() }));

describe("local stack: front proxy over several instances", function () {
  this.timeout(60_000);
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it("pickInstance: least busy with room, ties round robin, none when all are full or unusable", () => {
    assert.equal(pickInstance([0, 0, 0], [true, true, true], 1, 2), 0);
    assert.equal(pickInstance([0, 0, 0], [true, true, true], 1, 0), 1);
    assert.equal(pickInstance([1, 0, 1], [true, true, true], 1, 1), 1);
    assert.equal(pickInstance([1, 1, 1], [true, true, true], 1, 0), undefined);
    assert.equal(pickInstance([0, 0], [false, false], 1, 0), undefined);
    assert.equal(pickInstance([3, 1, 2], [true, true, true], 4, 0), 1);
    fc.assert(
      fc.property(fc.array(fc.nat(5), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 5 }), fc.nat(10), (inFlight, concurrency, lastRaw) => {
        const usable = inFlight.map((_, i) => i % 3 !== 2);
        const got = pickInstance(inFlight, usable, concurrency, lastRaw % inFlight.length);
        const candidates = inFlight.map((v, i) => [v, i] as const).filter(([v, i]) => usable[i] && v < concurrency);
        if (candidates.length === 0) return got === undefined;
        return got !== undefined && usable[got] === true && inFlight[got]! < concurrency && inFlight[got] === Math.min(...candidates.map(([v]) => v));
      }),
    );
  });

  it("concurrency 1: nine requests at once go three to each instance, one at a time; the rest wait at the proxy", async () => {
    const instances = await Promise.all([fakeInstance(), fakeInstance(), fakeInstance()]);
    for (const i of instances) closers.push(() => i.close());
    const proxy = await startFrontProxy({ instancePorts: instances.map((i) => i.port), concurrency: 1 });
    closers.push(() => proxy.close());
    const answers = Array.from({ length: 9 }, (_, n) => post(proxy, `m${n}`));
    await until("one request at each instance", () => instances.every((i) => i.held.length === 1));
    await until("six waiting", () => proxy.waiting === 6);
    // Release one at a time, whoever holds one; the proxy hands the next waiting request over.
    let released = 0;
    while (released < 9) {
      const busy = instances.find((i) => i.held.length > 0);
      if (busy === undefined) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      busy.held.shift()!.end("ok");
      released += 1;
    }
    const results = await Promise.all(answers);
    assert.deepEqual(results.map((r) => r.status), Array(9).fill(200));
    assert.deepEqual(results.map((r) => r.echo).sort(), Array.from({ length: 9 }, (_, n) => `m${n}`).sort(), "each caller got its own request's answer");
    for (const i of instances) {
      assert.equal(i.maxConcurrent, 1, "never two requests at once on one instance");
      assert.ok(i.received >= 1, "every instance took part");
    }
    assert.equal(instances.reduce((a, i) => a + i.received, 0), 9);
    assert.equal(proxy.maxInFlightSeen, 1);
    assert.equal(proxy.non2xx, 0);
  });

  it("concurrency 2: an instance takes two at once, not three", async () => {
    const instance = await fakeInstance();
    closers.push(() => instance.close());
    const proxy = await startFrontProxy({ instancePorts: [instance.port], concurrency: 2 });
    closers.push(() => proxy.close());
    const answers = [post(proxy, "a"), post(proxy, "b"), post(proxy, "c")];
    await until("two in flight, one waiting", () => instance.held.length === 2 && proxy.waiting === 1);
    for (let n = 0; n < 3; n++) {
      await until("a held request", () => instance.held.length > 0);
      instance.held.shift()!.end("ok");
    }
    assert.deepEqual((await Promise.all(answers)).map((r) => r.status), [200, 200, 200]);
    assert.equal(instance.maxConcurrent, 2);
  });

  it("an instance that is not listening yet (starting, restarting) makes requests wait, not fail; stall holds them", async () => {
    const port = await findFreePort();
    const proxy = await startFrontProxy({ instancePorts: [port], concurrency: 1, refusedRetryMs: 20 });
    closers.push(() => proxy.close());
    proxy.setMode("stall");
    let answered = false;
    const answer = post(proxy, "early").finally(() => (answered = true));
    await until("held", () => proxy.waiting === 1);
    proxy.setMode("pass");
    // Refused for a while: the request goes back to the queue and is tried again; the caller gets no error.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answered, false, "no answer while nothing listens");
    const instance = await fakeInstance(port);
    closers.push(() => instance.close());
    await until("delivered once it listens", () => instance.held.length === 1);
    instance.held.shift()!.end("ok");
    const r = await answer;
    assert.equal(r.status, 200);
    assert.equal(r.echo, "early");
  });

  it("an instance that dies with the request in flight: the caller gets 502 (and can be redelivered)", async () => {
    const instance = await fakeInstance();
    const proxy = await startFrontProxy({ instancePorts: [instance.port], concurrency: 1 });
    closers.push(() => proxy.close());
    const answer = post(proxy, "doomed");
    await until("in flight", () => instance.held.length === 1);
    await instance.close();
    const r = await answer;
    assert.equal(r.status, 502);
    assert.match(r.text, /instance 0 failed/);
    assert.equal(proxy.non2xx, 1);
  });
});

describe("npm start -- --instances: flag validation", function () {
  this.timeout(60_000);
  it("a bad --instances exits 2 with a clear error and the usage, before starting anything; --help documents it", async () => {
    const { execFile } = await import("node:child_process");
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ["--import", "tsx", "tools/local-stack/cli.ts", ...args], { cwd: ROOT }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr }),
        );
      });
    const bad = await cli(["--instances", "0"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--instances must be a whole number 1\.\.8, got "0"/);
    assert.match(bad.stderr, /usage: npm start/);
    assert.doesNotMatch(bad.stderr, /starting the emulators/);
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--instances <N>/);
  });
});

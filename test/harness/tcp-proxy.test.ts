import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { startTcpProxy, type TcpProxy } from "../../tools/fault-proxy/tcp-proxy.ts";

/** A tiny HTTP server that answers "pong <n>" and counts the requests it really received. */
async function startPongServer(): Promise<{ server: http.Server; port: number; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    res.setHeader("connection", "close");
    res.end(`pong ${requests} ${req.url ?? ""}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests: () => requests };
}

/** GET over a fresh connection (no pooling), so each request sees the proxy's current mode. */
function get(port: number, path: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("request timed out"), { code: "TEST_TIMEOUT" })));
    req.on("error", reject);
  });
}

async function rejectsWithCode(promise: Promise<unknown>, codes: string[]): Promise<void> {
  await assert.rejects(promise, (error: NodeJS.ErrnoException) => {
    assert.ok(codes.includes(error.code ?? ""), `expected one of ${codes.join(", ")}, got ${error.code}: ${error.message}`);
    return true;
  });
}

describe("tcp-proxy", () => {
  let pong: Awaited<ReturnType<typeof startPongServer>>;
  let proxy: TcpProxy;

  beforeEach(async () => {
    pong = await startPongServer();
    proxy = await startTcpProxy(`127.0.0.1:${pong.port}`);
  });

  afterEach(async () => {
    await proxy.close();
    pong.server.closeAllConnections();
    await new Promise<void>((resolve) => pong.server.close(() => resolve()));
  });

  it("forwards requests and responses in pass mode", async () => {
    assert.equal(proxy.mode, "pass");
    assert.equal(proxy.host, `127.0.0.1:${proxy.port}`);
    assert.notEqual(proxy.port, pong.port);
    assert.equal(await get(proxy.port, "/a"), "pong 1 /a");
    assert.equal(await get(proxy.port, "/b"), "pong 2 /b");
    assert.equal(proxy.acceptedConnections, 2);
  });

  it("refuse makes connects fail with ECONNREFUSED, and pass listens again on the same port", async () => {
    proxy.setMode("refuse");
    await rejectsWithCode(get(proxy.port, "/x"), ["ECONNREFUSED"]);
    assert.equal(pong.requests(), 0);
    proxy.setMode("pass");
    assert.equal(await get(proxy.port, "/y"), "pong 1 /y");
  });

  it("refuse also resets connections that were open", async () => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    const socketError = new Promise<NodeJS.ErrnoException>((resolve) => socket.once("error", resolve));
    proxy.setMode("refuse");
    assert.equal((await socketError).code, "ECONNRESET");
  });

  it("stall accepts but forwards nothing: the client times out and the server never sees the request", async () => {
    proxy.setMode("stall");
    await rejectsWithCode(get(proxy.port, "/stalled", 300), ["TEST_TIMEOUT"]);
    assert.equal(pong.requests(), 0);
    assert.equal(proxy.acceptedConnections, 1);
  });

  it("stall holds a request and pass delivers it", async () => {
    proxy.setMode("stall");
    // The client's bound only catches a request that is never delivered.
    const pending = get(proxy.port, "/held", 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(pong.requests(), 0);
    proxy.setMode("pass");
    assert.equal(await pending, "pong 1 /held");
  });

  it("stall also freezes connections that were already forwarding", async () => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    proxy.setMode("stall");
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.write("GET /frozen HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(pong.requests(), 0);
    assert.equal(received.length, 0);
    proxy.setMode("pass");
    await new Promise<void>((resolve) => socket.once("end", resolve));
    assert.match(Buffer.concat(received).toString(), /pong 1 \/frozen/);
    socket.destroy();
  });

  it("reset destroys open connections and every new one", async () => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    const socketError = new Promise<NodeJS.ErrnoException>((resolve) => socket.once("error", resolve));
    proxy.setMode("reset");
    assert.equal((await socketError).code, "ECONNRESET");
    await rejectsWithCode(get(proxy.port, "/r"), ["ECONNRESET"]);
    assert.equal(pong.requests(), 0);
    proxy.setMode("pass");
    assert.equal(await get(proxy.port, "/after"), "pong 1 /after");
  });

  it("resets the client when the target refuses", async () => {
    const deadTarget = await startTcpProxy(`127.0.0.1:${pong.port}`);
    deadTarget.setMode("refuse");
    const front = await startTcpProxy(deadTarget.host);
    try {
      await rejectsWithCode(get(front.port, "/z"), ["ECONNRESET"]);
    } finally {
      await front.close();
      await deadTarget.close();
    }
  });

  it("close stops listening", async () => {
    const port = proxy.port;
    await proxy.close();
    await rejectsWithCode(get(port, "/closed"), ["ECONNREFUSED"]);
  });

  it("rejects a malformed target", async () => {
    await assert.rejects(startTcpProxy("no-port"), /host:port/);
  });
});

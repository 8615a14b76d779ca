// A TCP proxy for fault injection: put it between a client and an emulator (or any server) and switch
// what the network does while the test runs.
//
//   pass   forward both ways. Connections held by an earlier "stall" are resumed: data queued while
//          stalled is delivered then, and connections accepted while stalled are connected upstream.
//   stall  accept connections but forward nothing in either direction (existing ones too): the peer
//          sees a hung server and only its own deadline ends the wait.
//   drop-replies  forward what clients send, discard what the server answers: the request lands
//          (a write commits) but its answer is lost, as with a timeout after the server acted.
//          A connection that lost bytes this way is reset when the mode changes again (its
//          stream has a hole no client could continue on).
//   reset  destroy every connection with a TCP RST, and every new one as soon as it is accepted.
//   refuse stop listening, so connects fail with ECONNREFUSED; existing connections are reset too
//          (a server that went away does not keep its sockets). Any other mode listens again on
//          the same port.
import net from "node:net";

export type TcpProxyMode = "pass" | "refuse" | "stall" | "reset" | "drop-replies";

export interface TcpProxy {
  host: string;
  port: number;
  readonly mode: TcpProxyMode;
  setMode(mode: TcpProxyMode): void;
  /** Number of connections accepted so far (lets a test see that a client really went through the proxy). */
  readonly acceptedConnections: number;
  close(): Promise<void>;
}

const LOCALHOST = "127.0.0.1";

/** One client connection and, once forwarding started, its upstream connection. */
class ProxiedConnection {
  private upstream: net.Socket | undefined;
  private readonly queuedFromClient: Buffer[] = [];
  private stalled = false;
  private droppingReplies = false;
  private droppedReplyBytes = 0;

  constructor(
    private readonly client: net.Socket,
    private readonly target: { host: string; port: number },
    private readonly onClosed: (connection: ProxiedConnection) => void,
  ) {
    client.on("data", (chunk: Buffer) => {
      if (this.upstream !== undefined && !this.stalled && this.upstream.readyState === "open") {
        this.upstream.write(chunk);
      } else {
        this.queuedFromClient.push(chunk);
      }
    });
    client.on("end", () => this.upstream?.end());
    // A client-side error ends this connection only; the proxy itself keeps serving.
    client.on("error", () => this.destroy());
    client.on("close", () => this.destroy());
  }

  /** Leaving drop-replies: a stream that lost bytes cannot be resumed. True when it was reset. */
  private resetIfHoled(): boolean {
    this.droppingReplies = false;
    if (this.droppedReplyBytes === 0) return false;
    this.reset();
    return true;
  }

  dropReplies(): void {
    this.pass();
    this.droppingReplies = true;
  }

  stall(): void {
    if (this.resetIfHoled()) return;
    this.stalled = true;
    this.client.pause();
    this.upstream?.pause();
  }

  pass(): void {
    if (this.resetIfHoled()) return;
    this.stalled = false;
    if (this.upstream === undefined) this.connectUpstream();
    else this.flush();
    this.client.resume();
    this.upstream?.resume();
  }

  reset(): void {
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.upstream !== undefined && !this.upstream.destroyed) this.upstream.resetAndDestroy();
    this.onClosed(this);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.onClosed(this);
  }

  private connectUpstream(): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.upstream = upstream;
    upstream.on("connect", () => this.flush());
    upstream.on("data", (chunk: Buffer) => {
      if (this.droppingReplies) this.droppedReplyBytes += chunk.length;
      else this.client.write(chunk);
    });
    upstream.on("end", () => this.client.end());
    // The target refused or dropped us: the client sees its connection reset, as it would without the proxy.
    upstream.on("error", () => this.reset());
    upstream.on("close", () => this.destroy());
  }

  private flush(): void {
    const upstream = this.upstream;
    if (upstream === undefined || this.stalled || upstream.readyState !== "open") return;
    for (const chunk of this.queuedFromClient.splice(0)) upstream.write(chunk);
  }
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to target ("host:port"), in mode "pass". */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const parsedTarget = parseHostPort(target);
  const connections = new Set<ProxiedConnection>();
  let mode: TcpProxyMode = "pass";
  let acceptedConnections = 0;
  let listenError: Error | undefined;

  const server = net.createServer((client) => {
    acceptedConnections += 1;
    if (mode === "reset") {
      client.on("error", () => client.destroy());
      client.resetAndDestroy();
      return;
    }
    const connection = new ProxiedConnection(client, parsedTarget, (closed) => connections.delete(closed));
    connections.add(connection);
    if (mode === "stall") connection.stall();
    else if (mode === "drop-replies") connection.dropReplies();
    else connection.pass();
  });
  server.on("error", (error) => {
    // Only listen() can fail here (re-listening after "refuse"); setMode/close report it to the test.
    listenError = error;
  });

  await listen(server, 0);
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("tcp-proxy: no port");
  const port = address.port;

  const throwIfListenFailed = (): void => {
    if (listenError !== undefined) throw new Error(`tcp-proxy: could not listen on ${port} again`, { cause: listenError });
  };

  return {
    host: `${LOCALHOST}:${port}`,
    port,
    get mode() {
      return mode;
    },
    get acceptedConnections() {
      return acceptedConnections;
    },
    setMode(next: TcpProxyMode) {
      throwIfListenFailed();
      const previous = mode;
      mode = next;
      if (next === "refuse") {
        if (server.listening) server.close();
        for (const connection of [...connections]) connection.reset();
        return;
      }
      if (previous === "refuse" && !server.listening) {
        // Binding an IP literal happens on the next tick, before any I/O a test could start.
        server.listen(port, LOCALHOST);
      }
      for (const connection of [...connections]) {
        if (next === "reset") connection.reset();
        else if (next === "stall") connection.stall();
        else if (next === "drop-replies") connection.dropReplies();
        else connection.pass();
      }
    },
    async close() {
      for (const connection of [...connections]) connection.destroy();
      if (server.listening) {
        await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      }
      throwIfListenFailed();
    },
  };
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOCALHOST, () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
}

function parseHostPort(target: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(target);
  const host = match?.[1];
  const port = Number(match?.[2]);
  if (host === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`tcp-proxy: target must be "host:port", got ${JSON.stringify(target)}`);
  }
  return { host: host.replace(/^\[(.*)\]$/, "$1"), port };
}

// The front of one function, as Cloud Run's front end is: callers (push deliveries, the scheduler,
// health checks) reach the function's URL here, and each request is handed to one of the function's
// instances, least busy first, never more at once per instance than its request concurrency (1 by
// default, as a 2nd gen function). A request no instance can take yet waits here, in arrival order,
// instead of being refused. While an instance restarts (connection refused) its requests wait too.
//
//   pass   requests are dispatched as instances become free
//   stall  requests are accepted and held; nothing new is dispatched (in-flight ones finish)
import http from "node:http";
import type { AddressInfo } from "node:net";

export type FrontProxyMode = "pass" | "stall";

export interface FrontProxy {
  readonly host: string;
  readonly port: number;
  readonly mode: FrontProxyMode;
  setMode(mode: FrontProxyMode): void;
  /** Requests answered by each instance so far (index = instance). */
  readonly served: readonly number[];
  /** Answers other than 2xx so far (the instance's own, and 502 for an instance that died mid-request). */
  readonly non2xx: number;
  /** The most requests any one instance had at once. */
  readonly maxInFlightSeen: number;
  /** Requests waiting for a free instance now. */
  readonly waiting: number;
  close(): Promise<void>;
}

export interface FrontProxyOptions {
  /** Internal ports of the instances. */
  instancePorts: readonly number[];
  /** Requests one instance serves at once. */
  concurrency: number;
  /** How long a refused instance is skipped before it is tried again, ms. */
  refusedRetryMs?: number;
}

interface Held {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Buffer;
}

// Hop-by-hop headers are the proxy's own business, not forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** Which instance takes the next request: the least busy with room, ties broken round robin after `last`. Pure. */
export function pickInstance(inFlight: readonly number[], usable: readonly boolean[], concurrency: number, last: number): number | undefined {
  let best: number | undefined;
  for (let step = 1; step <= inFlight.length; step++) {
    const i = (last + step) % inFlight.length;
    if (!usable[i] || inFlight[i]! >= concurrency) continue;
    if (best === undefined || inFlight[i]! < inFlight[best]!) best = i;
  }
  return best;
}

export async function startFrontProxy(o: FrontProxyOptions): Promise<FrontProxy> {
  if (o.instancePorts.length < 1) throw new Error("front proxy: at least one instance");
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error(`front proxy: concurrency must be >= 1, got ${o.concurrency}`);
  const n = o.instancePorts.length;
  const refusedRetryMs = o.refusedRetryMs ?? 100;
  const inFlight = new Array<number>(n).fill(0);
  const served = new Array<number>(n).fill(0);
  const refusedUntil = new Array<number>(n).fill(0);
  const queue: Held[] = [];
  let mode: FrontProxyMode = "pass";
  let last = n - 1;
  let maxInFlightSeen = 0;
  let non2xx = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const scheduleRetry = (): void => {
    if (retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      dispatch();
    }, refusedRetryMs);
  };

  const dispatch = (): void => {
    while (mode === "pass" && queue.length > 0) {
      const now = Date.now();
      const usable = refusedUntil.map((t) => t <= now);
      const i = pickInstance(inFlight, usable, o.concurrency, last);
      if (i === undefined) {
        // Every instance is busy (a finishing request dispatches again) or refused (retry later).
        if (usable.some((u) => !u)) scheduleRetry();
        return;
      }
      last = i;
      forward(i, queue.shift()!);
    }
  };

  const forward = (i: number, held: Held): void => {
    inFlight[i]! += 1;
    maxInFlightSeen = Math.max(maxInFlightSeen, inFlight[i]!);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      inFlight[i]! -= 1;
      dispatch();
    };
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(held.req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    headers["content-length"] = String(held.body.length);
    // A new connection per request (agent: false): a kept-alive socket of a killed instance would fail
    // a later request that never reached anyone.
    const upstream = http.request(
      { host: "127.0.0.1", port: o.instancePorts[i], method: held.req.method, path: held.req.url, headers, agent: false },
      (answer) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
        const status = answer.statusCode ?? 502;
        if (status < 200 || status > 299) non2xx += 1;
        held.res.writeHead(status, out);
        answer.pipe(held.res);
        answer.on("end", () => {
          served[i]! += 1;
          release();
        });
        answer.on("error", () => {
          held.res.destroy();
          release();
        });
      },
    );
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED" && !held.res.headersSent) {
        // Not listening (starting or restarting): nothing reached it; the request waits for an instance.
        refusedUntil[i] = Date.now() + refusedRetryMs;
        queue.unshift(held);
        release();
        return;
      }
      // The instance died with the request in flight: the caller gets a 5xx, as from Cloud Run.
      non2xx += 1;
      if (!held.res.headersSent) held.res.writeHead(502, { "content-type": "text/plain" }).end(`instance ${i} failed: ${error.message}`);
      else held.res.destroy();
      release();
    });
    upstream.end(held.body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const held: Held = { req, res, body: Buffer.concat(chunks) };
      queue.push(held);
      // A caller that gives up while waiting is not dispatched (Cloud Run drops it too).
      res.on("close", () => {
        const at = queue.indexOf(held);
        if (at >= 0) queue.splice(at, 1);
      });
      dispatch();
    });
    req.on("error", () => res.destroy());
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host: `127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    setMode(next: FrontProxyMode) {
      mode = next;
      dispatch();
    },
    served,
    get non2xx() {
      return non2xx;
    },
    get maxInFlightSeen() {
      return maxInFlightSeen;
    },
    get waiting() {
      return queue.length;
    },
    close: async () => {
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      for (const held of queue.splice(0)) held.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

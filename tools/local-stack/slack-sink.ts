// A local stand-in for the Slack incoming webhook: records and prints every alert it receives, and
// can be taken "down" (answers 503) for the slack-down fault.
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface ReceivedAlert {
  at: number;
  body: Record<string, unknown>;
}

export interface SlackSink {
  readonly url: string;
  readonly received: ReceivedAlert[];
  /** Requests answered 503 while down. */
  readonly refused: number;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** One line for the console: Slack's text, else the first block's text. */
export function alertSummary(body: Record<string, unknown>): string {
  if (typeof body.text === "string" && body.text !== "") return body.text.split("\n")[0]!;
  const blocks = Array.isArray(body.blocks) ? (body.blocks as Record<string, unknown>[]) : [];
  for (const b of blocks) {
    const text = (b.text as { text?: unknown } | undefined)?.text;
    if (typeof text === "string" && text !== "") return text.split("\n")[0]!;
  }
  return JSON.stringify(body).slice(0, 200);
}

export async function startSlackSink(onAlert: (alert: ReceivedAlert) => void): Promise<SlackSink> {
  const received: ReceivedAlert[] = [];
  let down = false;
  let refused = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      if (down) {
        refused += 1;
        res.writeHead(503, { "content-type": "text/plain" }).end("service_unavailable");
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // Slack rejects a body that is not JSON with 400 invalid_payload; so do we, visibly.
        res.writeHead(400, { "content-type": "text/plain" }).end("invalid_payload");
        return;
      }
      const alert = { at: Date.now(), body };
      received.push(alert);
      onAlert(alert);
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("slack sink has no port");
  return {
    url: `http://127.0.0.1:${address.port}/services/local/slack`,
    received,
    get refused() {
      return refused;
    },
    setDown(d) {
      down = d;
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

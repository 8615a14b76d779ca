// A local stand-in for the Slack incoming webhook: records and prints every alert it receives, and
// can be taken "down" (answers 503) or made to rate-limit (429 with Retry-After) for the faults.
// Everything it received is kept whole and served as JSON on a GET of its URL, for whoever scripts
// against the local stack.
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface ReceivedAlert {
  at: number;
  body: Record<string, unknown>;
  /** The game date the alert is about (its "Game date:" line), null when it names none. */
  gameDate: string | null;
  /** Its first line. */
  title: string;
}

/** up: 200; down: 503 (Slack unavailable); rate-limit: 429 with Retry-After, as Slack throttles. */
export type SlackSinkMode = "up" | "down" | "rate-limit";

export interface SlackSink {
  readonly url: string;
  readonly received: ReceivedAlert[];
  /** Requests answered 503 while down. */
  readonly refused: number;
  /** Requests answered 429 while rate-limiting. */
  readonly rateLimited: number;
  readonly mode: SlackSinkMode;
  setDown(down: boolean): void;
  setMode(mode: SlackSinkMode): void;
  close(): Promise<void>;
}

/** The game date an alert names: the alerter writes it as a "*Game date:* YYYY-MM-DD" line. */
export function alertGameDate(body: Record<string, unknown>): string | null {
  const text = typeof body.text === "string" ? body.text : JSON.stringify(body);
  return /\*?Game date:\*?\s*(\d{4}-\d{2}-\d{2})/.exec(text)?.[1] ?? null;
}

/** The progress line of an alert: its summary and the date it is about. */
export function alertLine(alert: Pick<ReceivedAlert, "body" | "gameDate">): string {
  return `${alertSummary(alert.body)} (${alert.gameDate === null ? "no game date" : `game date ${alert.gameDate}`})`;
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
  let mode: SlackSinkMode = "up";
  let refused = 0;
  let rateLimited = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      if (req.method === "GET") {
        // What a script (or the chaos checker) reads: every alert received, whole, with its date.
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({ mode, refused, rateLimited, alerts: received.map((a) => ({ at: new Date(a.at).toISOString(), gameDate: a.gameDate, title: a.title, body: a.body })) }),
        );
        return;
      }
      if (mode === "down") {
        refused += 1;
        res.writeHead(503, { "content-type": "text/plain" }).end("service_unavailable");
        return;
      }
      if (mode === "rate-limit") {
        rateLimited += 1;
        res.writeHead(429, { "content-type": "text/plain", "retry-after": "1" }).end("rate_limited");
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
      const alert = { at: Date.now(), body, gameDate: alertGameDate(body), title: alertSummary(body) };
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
    get rateLimited() {
      return rateLimited;
    },
    get mode() {
      return mode;
    },
    setDown(d) {
      mode = d ? "down" : "up";
    },
    setMode(m) {
      mode = m;
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

// Runtime test support: a function served by the real functions framework in its own Node process
// (its own environment, so its clients can be pointed at a fault proxy; killable, for crash tests),
// today's message shapes, push envelopes, and a local Slack sink.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { Firestore } from "@google-cloud/firestore";
import type { Message, PubSub } from "@google-cloud/pubsub";
import { createTriggerDeduper } from "../../functions/lib/trigger-dedupe.ts";
import { findFreePort, uniqueName } from "../../tools/emulators/emulators.ts";
import { pythonTimestamp } from "../../tools/messages/envelope.ts";

// The parts the bench and the local stack share live under tools/; re-exported for the suites.
export { pushEnvelope, pythonTimestamp } from "../../tools/messages/envelope.ts";
export { postJson } from "../../tools/messages/post-json.ts";
export {
  LOCAL_CODE_HASH as TEST_CODE_HASH,
  LOCAL_DATASET as TEST_DATASET,
  orchestratorEnv,
  type FunctionEnvOptions,
} from "../../tools/local-functions/orchestrator-env.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FRAMEWORK_MAIN = path.join(ROOT, "node_modules/@google-cloud/functions-framework/build/src/main.js");

export interface FunctionProcess {
  url: string;
  port: number;
  /** Parsed JSON log lines the function wrote to stdout (non-JSON lines are kept as { raw }). */
  logs: Record<string, unknown>[];
  stderr: string[];
  /** Lines at or above a severity. */
  logsAt(severity: string): Record<string, unknown>[];
  stop(): Promise<void>;
  /** SIGKILL: a crash, nothing gets to clean up. */
  kill(): Promise<void>;
  child: ChildProcess;
}

/**
 * Serves one entry point (TypeScript source through tsx, or a built bundle) with the real functions
 * framework in a child process, and waits until it answers.
 */
/**
 * Function processes still running. A test that fails before its stop() leaves one behind; mocha exits
 * after the run anyway (`exit` in .mocharc.json), and this kills them then, so none outlives the run.
 */
const liveFunctionProcesses = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of liveFunctionProcesses) child.kill("SIGKILL");
});

export async function startFunctionProcess(opts: {
  source: string;
  target: string;
  env: Record<string, string>;
  port?: number;
}): Promise<FunctionProcess> {
  const port = opts.port ?? (await findFreePort());
  const isTs = opts.source.endsWith(".ts");
  const args = [
    ...(isTs ? ["--import", "tsx"] : []),
    FRAMEWORK_MAIN,
    `--target=${opts.target}`,
    `--source=${opts.source}`,
    `--port=${port}`,
    "--signature-type=http",
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NODE_ENV: "test", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buffered = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, "exit");
  liveFunctionProcesses.add(child);
  child.once("exit", () => liveFunctionProcesses.delete(child));
  // Only a guard against a process that never listens: on a loaded machine loading the bundle's
  // modules through tsx can take many seconds.
  const deadline = Date.now() + READY_BOUND_MS;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`function process exited with ${child.exitCode}: ${stderr.join("")}`);
    }
    const up = await fetch(`${url}/__ready`, { method: "OPTIONS" }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`function process did not listen on ${port} within ${READY_BOUND_MS / 1000} s: ${stderr.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const severityRank = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"];
  return {
    url,
    port,
    logs,
    stderr,
    child,
    logsAt: (severity) =>
      logs.filter((l) => severityRank.indexOf(String(l.severity)) >= severityRank.indexOf(severity)),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export function orchestratorSource(transitionId: string): string {
  return path.join(ROOT, "functions/orchestrators", `${transitionId}.ts`);
}

export interface SlackSink {
  url: string;
  received: Record<string, unknown>[];
  /** Status to answer with (200 default); headers such as Retry-After. */
  respondWith(status: number, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

/** A local Slack incoming-webhook stand-in that records what it receives. */
export async function startSlackSink(): Promise<SlackSink> {
  const received: Record<string, unknown>[] = [];
  let status = 200;
  let headers: Record<string, string> = {};
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      if (status === 200) received.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(status, headers).end(status === 200 ? "ok" : "error");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("slack sink has no port");
  return {
    url: `http://127.0.0.1:${address.port}/hooks/test`,
    received,
    respondWith(s, h = {}) {
      status = s;
      headers = h;
    },
    close: () => new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/** How long a function process may take to listen before the test gives up on it (a hang guard). */
const READY_BOUND_MS = 120_000;

/**
 * Polls until check() returns a value other than undefined/false, or fails after timeoutMs. The
 * default bound only catches a condition that never comes; it is ample for a loaded machine.
 */
/**
 * How long a test waits for a redelivery to succeed once a refused network heals. The function's gRPC
 * channel reconnects with a backoff that grows through the outage (1 s, 1.6 s, 2.6 s ... with jitter),
 * and a busy machine stretches every step; Pub/Sub itself keeps redelivering for minutes.
 */
export const REDELIVERY_WAIT_MS = 150_000;

/**
 * GET /health once every check answered within its bound. A cold process on a busy machine can take
 * longer than a check's bound for its first call (and that answer is cached 30 s): a degraded answer
 * whose failed checks only timed out is asked again; any other answer (a refused permission, a
 * misconfiguration) is returned at once.
 */
export async function settledHealth(url: string): Promise<{ status: number; body: Record<string, unknown> & { dependencies?: Record<string, { healthy: boolean; error?: string }> } }> {
  return waitFor("every /health check to answer within its bound", async () => {
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as Record<string, unknown> & { dependencies?: Record<string, { healthy: boolean; error?: string }> };
    const failed = Object.values(body.dependencies ?? {}).filter((d) => !d.healthy);
    if (failed.length > 0 && failed.every((d) => String(d.error).startsWith("timeout:"))) {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      return undefined;
    }
    return { status: res.status, body };
  }, 150_000);
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A phase 2 completion exactly as today's publisher sends it (class name, no nulls at top level). */
export function phase2Message(className: string, gameDate: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    processor_name: className,
    phase: "phase_2_raw",
    execution_id: Math.random().toString(16).slice(2, 10).padEnd(8, "0"),
    correlation_id: "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    game_date: gameDate,
    status: "success",
    record_count: 120,
    records_failed: 0,
    timestamp: pythonTimestamp(),
    duration_seconds: 4.2,
    trigger_source: "scraper",
    metadata: { is_incremental: false, entities_changed: null },
    ...over,
  };
}

/** One class name per phase 2 expected processor (today's aliases). */
export const PHASE2_CLASS_NAMES = [
  "BigDataBallPbpProcessor",
  "OddsGameLinesProcessor",
  "OddsApiPropsProcessor",
  "NbacGamebookProcessor",
  "NbacPlayerBoxscoreProcessor",
] as const;

/** Severity and event of each log line that has an event, in order. */
export function loggedEvents(fn: FunctionProcess, event: string): Record<string, unknown>[] {
  return fn.logs.filter((l) => l.event === event);
}

/** A name that is a valid Firestore collection prefix. */
export function collectionPrefix(tag: string): string {
  return `${tag}_${process.pid}_${Date.now().toString(36)}_`;
}

export interface TriggerConsumer {
  /** Every trigger delivered, duplicates included. */
  raw: Record<string, unknown>[];
  /** What a consumer de-duplicating by trigger_id acts on (exactly-once-effective). */
  effective: Record<string, unknown>[];
  /** Waits `ms`, then for every delivery received so far to be handled (a de-dupe failure rejects here). */
  settle(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** The next phase, as seen downstream: a fresh subscription of a trigger topic, de-duplicating by trigger_id. */
export async function startTriggerConsumer(pubsub: PubSub, db: Firestore, topicName: string, prefix: string): Promise<TriggerConsumer> {
  const [sub] = await pubsub.topic(topicName).createSubscription(uniqueName("consumer"));
  const dedupe = createTriggerDeduper(db, `${prefix}consumed_triggers`);
  const raw: Record<string, unknown>[] = [];
  const effective: Record<string, unknown>[] = [];
  const handled: Promise<void>[] = [];
  let closing: Promise<void> | undefined;
  sub.on("message", (m: Message) => {
    const data = JSON.parse(m.data.toString("utf8")) as Record<string, unknown>;
    raw.push(data);
    handled.push(
      dedupe.firstDelivery(m.attributes.trigger_id ?? "", {}, m.id).then(
        (first) => {
          if (first) effective.push(data);
          m.ack();
        },
        (error: unknown) => {
          m.nack(); // redelivered, as a real consumer would be
          throw error;
        },
      ),
    );
  });
  return {
    raw,
    effective,
    async settle(ms) {
      await new Promise((r) => setTimeout(r, ms));
      await Promise.all(handled);
    },
    /** Idempotent: a test closes it when done, its afterEach again in case the test failed first. */
    close() {
      closing ??= sub.close().then(() => sub.delete()).then(() => undefined);
      return closing;
    },
  };
}

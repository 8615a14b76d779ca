import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { captureLogs } from "../../functions/lib/logger.ts";
import { MAX_STACK_CHARS, createSlackAlerter, formatSlackMessage, parseRetryAfterMs, type Alert } from "../../functions/lib/slack.ts";

interface Received {
  body: { text: string };
  at: number;
}

/** A real local webhook: answers each request with the next scripted response (the last one repeats). */
async function startWebhook(script: Array<{ status: number; headers?: Record<string, string>; body?: string }>) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      received.push({ body: JSON.parse(raw) as { text: string }, at: Date.now() });
      const step = script[Math.min(received.length - 1, script.length - 1)]!;
      res.writeHead(step.status, { "content-type": "text/plain", ...step.headers });
      res.end(step.body ?? (step.status === 200 ? "ok" : "error"));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/T/B/X`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A port nothing listens on: connections are refused. */
async function refusedUrl(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/hook`;
}

const baseAlert: Alert = {
  severity: "error",
  subject: { kind: "trigger_publish_failed", transition: "phase3-to-phase4", gameDate: "2026-01-15", item: "t-1" },
  title: "phase 3 trigger publish failed",
  phase: "phase_3_analytics",
  gameDate: "2026-01-15",
  correlationId: "corr-123",
  error: Object.assign(new Error("14 UNAVAILABLE: pubsub down"), { code: 14 }),
};

describe("slack: alerter against a real local webhook", () => {
  let closeServer: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await closeServer?.();
    closeServer = undefined;
  });

  function alerter(url: string | undefined, extra: { now?: () => number; sleeps?: number[]; maxTrackedSubjects?: number } = {}) {
    const cap = captureLogs({ function: "phase3-to-phase4-orchestrator" });
    const sleeps = extra.sleeps ?? [];
    const a = createSlackAlerter({
      webhookUrl: url,
      functionName: "phase3-to-phase4-orchestrator",
      codeHash: "abc123",
      logger: cap.logger,
      ...(extra.now ? { now: extra.now } : {}),
      ...(extra.maxTrackedSubjects ? { maxTrackedSubjects: extra.maxTrackedSubjects } : {}),
      retryRuntime: { sleep: (ms) => (sleeps.push(ms), Promise.resolve()), random: () => 0.5 },
    });
    return { a, cap, sleeps };
  }

  it("200: delivers one message carrying function, phase, date, error type, correlation id, message and stack", async () => {
    const hook = await startWebhook([{ status: 200 }]);
    closeServer = hook.close;
    const { a } = alerter(hook.url);
    assert.deepEqual(await a.alert(baseAlert), { delivered: true, suppressed: false });
    assert.equal(hook.received.length, 1);
    const text = hook.received[0]!.body.text;
    for (const expected of ["phase3-to-phase4-orchestrator", "abc123", "phase_3_analytics", "2026-01-15", "grpc:UNAVAILABLE", "corr-123", "pubsub down", "Error: 14 UNAVAILABLE"]) {
      assert.ok(text.includes(expected), `message contains ${expected}:\n${text}`);
    }
  });

  it("the stack is truncated to at most 2000 characters", () => {
    const err = new Error("deep");
    err.stack = "Error: deep\n" + "    at frame (file.ts:1:1)\n".repeat(500);
    const { text } = formatSlackMessage({ ...baseAlert, error: err }, { functionName: "f", codeHash: "h" }, 0);
    const stack = /```([\s\S]*)```/.exec(text)?.[1] ?? "";
    assert.ok(stack.length <= MAX_STACK_CHARS, `${stack.length}`);
    assert.ok(stack.startsWith("Error: deep"));
    assert.ok(stack.endsWith("(truncated)"));
  });

  it("429 with Retry-After: waits the asked seconds, then delivers", async () => {
    const hook = await startWebhook([{ status: 429, headers: { "retry-after": "2" } }, { status: 200 }]);
    closeServer = hook.close;
    const { a, sleeps, cap } = alerter(hook.url);
    const result = await a.alert(baseAlert);
    assert.deepEqual(result, { delivered: true, suppressed: false });
    assert.equal(hook.received.length, 2);
    assert.deepEqual(sleeps, [2000]);
    assert.equal(cap.find("WARNING", "retrying slack.webhook").length, 1);
  });

  it("503 then 200: retried with backoff and delivered", async () => {
    const hook = await startWebhook([{ status: 503 }, { status: 503 }, { status: 200 }]);
    closeServer = hook.close;
    const { a, sleeps } = alerter(hook.url);
    assert.equal((await a.alert(baseAlert)).delivered, true);
    assert.equal(hook.received.length, 3);
    assert.deepEqual(sleeps, [250, 500]);
  });

  it("503 every time: gives up after 3 attempts, logs ERROR with the alert, never throws", async () => {
    const hook = await startWebhook([{ status: 503 }]);
    closeServer = hook.close;
    const { a, cap } = alerter(hook.url);
    const result = await a.alert(baseAlert);
    assert.equal(result.delivered, false);
    assert.equal(result.suppressed, false);
    assert.match(result.error ?? "", /503/);
    assert.equal(hook.received.length, 3);
    const errors = cap.find("ERROR", "alert not delivered: slack webhook failed");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.["correlation_id"], "corr-123");
    assert.equal(errors[0]?.["alert_title"], baseAlert.title);
  });

  it("400: not retried, logged at ERROR, delivered false", async () => {
    const hook = await startWebhook([{ status: 400, body: "invalid_payload" }]);
    closeServer = hook.close;
    const { a, cap, sleeps } = alerter(hook.url);
    const result = await a.alert(baseAlert);
    assert.equal(result.delivered, false);
    assert.match(result.error ?? "", /400: invalid_payload/);
    assert.equal(hook.received.length, 1);
    assert.deepEqual(sleeps, []);
    assert.equal(cap.find("ERROR", "alert not delivered").length, 1);
  });

  it("429 asking for longer than the cap: not waited for, reported", async () => {
    const hook = await startWebhook([{ status: 429, headers: { "retry-after": "120" } }]);
    closeServer = hook.close;
    const { a, sleeps } = alerter(hook.url);
    const result = await a.alert(baseAlert);
    assert.equal(result.delivered, false);
    assert.equal(hook.received.length, 1);
    assert.deepEqual(sleeps, []);
  });

  it("connection refused: delivered false with the reason, ERROR logged, no throw, URL not leaked", async () => {
    const url = await refusedUrl();
    const { a, cap } = alerter(url);
    const result = await a.alert(baseAlert);
    assert.equal(result.delivered, false);
    assert.match(result.error ?? "", /fetch failed/);
    const logged = cap.find("ERROR", "alert not delivered");
    assert.equal(logged.length, 1);
    assert.equal(JSON.stringify(cap.entries).includes(url), false);
  });

  it("no webhook URL: ERROR 'alert not delivered: no webhook configured' with the alert content", async () => {
    const { a, cap } = alerter(undefined);
    const result = await a.alert(baseAlert);
    assert.deepEqual(result, { delivered: false, suppressed: false, error: "no webhook configured" });
    const [entry] = cap.find("ERROR", "alert not delivered: no webhook configured");
    assert.ok(entry);
    assert.equal(entry["alert_title"], baseAlert.title);
    assert.equal(entry["game_date"], "2026-01-15");
    assert.equal(entry["error_type"], "grpc:UNAVAILABLE");
  });

  it("a storm of the same alert is sent once per window; the next one reports how many were suppressed", async () => {
    const hook = await startWebhook([{ status: 200 }]);
    closeServer = hook.close;
    let t = 1_000_000;
    const { a } = alerter(hook.url, { now: () => t });
    assert.equal((await a.alert(baseAlert)).delivered, true);
    for (let i = 0; i < 7; i++) {
      t += 10_000;
      assert.deepEqual(await a.alert(baseAlert), { delivered: false, suppressed: true });
    }
    // A different subject (another transition) is not suppressed.
    assert.equal((await a.alert({ ...baseAlert, subject: { ...baseAlert.subject, transition: "phase4-to-phase5" } })).delivered, true);
    assert.equal(hook.received.length, 2);
    t = 1_000_000 + 300_000;
    assert.equal((await a.alert(baseAlert)).delivered, true);
    assert.equal(hook.received.length, 3);
    assert.match(hook.received[2]!.body.text, /\(7 similar suppressed\)/);
    assert.doesNotMatch(hook.received[0]!.body.text, /suppressed/);
  });

  it("de-duplicates by subject, never by text: another game date is another alert, the same subject reworded is not", async () => {
    const hook = await startWebhook([{ status: 200 }]);
    closeServer = hook.close;
    let t = 1_000_000;
    const { a, cap } = alerter(hook.url, { now: () => t });
    // The degraded-trigger warning's title names no date: only the subject tells the dates apart.
    const warning = (gameDate: string, title: string): Alert => ({
      severity: "warning",
      subject: { kind: "missing_processors", transition: "phase2-to-phase3", gameDate, mode: "daily" },
      title,
      phase: "phase_2_raw",
      gameDate,
      errorType: "missing_processors",
    });
    assert.equal((await a.alert(warning("2026-01-15", "phase2-to-phase3 triggered without every processor (deadline)"))).delivered, true);
    t += 60_000;
    assert.equal((await a.alert(warning("2026-01-16", "phase2-to-phase3 triggered without every processor (deadline)"))).delivered, true);
    t += 60_000;
    assert.deepEqual(await a.alert(warning("2026-01-15", "phase2-to-phase3 fired without every processor: deadline")), { delivered: false, suppressed: true });
    assert.equal(hook.received.length, 2);
    assert.ok(hook.received[1]!.body.text.includes("2026-01-16"));
    const held = cap.find("NOTICE", "alert suppressed");
    assert.equal(held.length, 1);
    assert.deepEqual(held[0]!["alert_subject"], { kind: "missing_processors", transition: "phase2-to-phase3", gameDate: "2026-01-15", mode: "daily" });
  });

  it("remembers at most maxTrackedSubjects windows: the oldest subject is forgotten, the newest still de-duplicated", async () => {
    const hook = await startWebhook([{ status: 200 }]);
    closeServer = hook.close;
    const t = 1_000_000;
    const { a } = alerter(hook.url, { now: () => t, maxTrackedSubjects: 3 });
    const about = (item: string): Alert => ({ ...baseAlert, subject: { ...baseAlert.subject, item } });
    for (const item of ["a", "b", "c", "d"]) assert.equal((await a.alert(about(item))).delivered, true);
    assert.equal((await a.alert(about("d"))).suppressed, true, "the newest subject is still inside its window");
    assert.equal((await a.alert(about("a"))).delivered, true, "the oldest subject was forgotten (cap 3), so it is sent again");
    assert.equal(hook.received.length, 5);
    // Many distinct subjects: memory stays bounded, every one is delivered once.
    for (let i = 0; i < 50; i++) assert.equal((await a.alert(about(`x${i}`))).delivered, true);
    assert.equal((await a.alert(about("x49"))).suppressed, true);
  });

  it("unserializable details never throw into the caller", async () => {
    const hook = await startWebhook([{ status: 200 }]);
    closeServer = hook.close;
    const { a, cap } = alerter(hook.url);
    const result = await a.alert({ ...baseAlert, details: { big: 10n } });
    assert.equal(result.delivered, false);
    assert.equal(cap.find("ERROR", "alert not delivered").length, 1);
  });

  it("parses Retry-After as seconds or HTTP date", () => {
    assert.equal(parseRetryAfterMs("3", 0), 3000);
    assert.equal(parseRetryAfterMs(null, 0), undefined);
    assert.equal(parseRetryAfterMs("soon", 0), undefined);
    const now = Date.parse("2026-01-15T00:00:00Z");
    assert.equal(parseRetryAfterMs("Thu, 15 Jan 2026 00:00:05 GMT", now), 5000);
  });
});

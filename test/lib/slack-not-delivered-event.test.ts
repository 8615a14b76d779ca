// An undelivered Slack alert is logged with the event the "alert not delivered" log-match alert
// filters on (infra/alerting/log-metrics.ts ALERT_NOT_DELIVERED_FILTER), at that filter's severity;
// a delivered or a suppressed one is not.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { LOG_EVENT_KEY, LOG_EVENT_SEVERITY, LOG_EVENTS } from "../../functions/core/log-events.ts";
import { captureLogs } from "../../functions/lib/logger.ts";
import { createSlackAlerter } from "../../functions/lib/slack.ts";

// Not annotated as Alert, so it also carries the fields of alerters that require more of an alert.
const alert = {
  severity: "error" as const,
  subject: { kind: "phase_stalled", transition: "phase3-to-phase4", gameDate: "2026-01-15" },
  title: "phase 3 stalled",
  gameDate: "2026-01-15",
};

async function webhook(status: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "invalid_token");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T/B/X`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function refusedUrl(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}/hook`;
}

function alerterFor(url: string | undefined) {
  const cap = captureLogs();
  const a = createSlackAlerter({ webhookUrl: url, functionName: "fn", codeHash: "h", logger: cap.logger, retryRuntime: { sleep: async () => {} } });
  const notDelivered = () => cap.entries.filter((e) => (e as Record<string, unknown>)[LOG_EVENT_KEY] === LOG_EVENTS.alertNotDelivered);
  return { a, cap, notDelivered };
}

describe("slack: undelivered alerts carry the alert_not_delivered event", () => {
  it("no webhook configured", async () => {
    const { a, notDelivered } = alerterFor(undefined);
    assert.equal((await a.alert(alert)).delivered, false);
    const [entry, ...more] = notDelivered();
    assert.equal(more.length, 0);
    assert.equal(entry?.severity, LOG_EVENT_SEVERITY[LOG_EVENTS.alertNotDelivered]);
    assert.equal((entry as Record<string, unknown>).alert_title, alert.title);
  });

  it("webhook refusing connections, and a webhook answering 404", async () => {
    const refused = alerterFor(await refusedUrl());
    assert.equal((await refused.a.alert(alert)).delivered, false);
    assert.equal(refused.notDelivered().length, 1);
    assert.equal(refused.notDelivered()[0]!.severity, "ERROR");

    const hook = await webhook(404);
    try {
      const rejected = alerterFor(hook.url);
      assert.equal((await rejected.a.alert(alert)).delivered, false);
      assert.equal(rejected.notDelivered().length, 1);
      assert.match(rejected.notDelivered()[0]!.message, /slack webhook failed/);
    } finally {
      await hook.close();
    }
  });

  it("an alert whose details cannot be serialised", async () => {
    const hook = await webhook(200);
    try {
      const { a, notDelivered } = alerterFor(hook.url);
      assert.equal((await a.alert({ ...alert, details: { big: 10n } })).delivered, false);
      assert.equal(notDelivered().length, 1);
    } finally {
      await hook.close();
    }
  });

  it("delivered, then suppressed as a duplicate: no such event", async () => {
    const hook = await webhook(200);
    try {
      const { a, notDelivered } = alerterFor(hook.url);
      assert.equal((await a.alert(alert)).delivered, true);
      assert.equal((await a.alert(alert)).suppressed, true);
      assert.deepEqual(notDelivered(), []);
    } finally {
      await hook.close();
    }
  });
});

// The local Slack sink: keeps every alert whole with the game date it is about, serves them as JSON
// on a GET, and can be down (503) or rate-limiting (429 with Retry-After) for the faults.
import assert from "node:assert/strict";
import { alertGameDate, alertLine, startSlackSink, type SlackSink } from "../../tools/local-stack/slack-sink.ts";

const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("local stack: the Slack sink", () => {
  let sink: SlackSink;
  const seen: string[] = [];
  beforeEach(async () => {
    seen.length = 0;
    sink = await startSlackSink((a) => seen.push(alertLine(a)));
  });
  afterEach(async () => {
    await sink.close();
  });

  it("keeps each alert whole with its game date and title, and serves them as JSON on a GET", async () => {
    const text = ":warning: *[WARNING] p3 triggered without every processor (tier)*\n*Function:* f  *Code hash:* abc\n*Game date:* 2026-11-28";
    assert.equal((await post(sink.url, { text })).status, 200);
    assert.equal((await post(sink.url, { text: ":red_circle: *[ERROR] Message quarantined by f*" })).status, 200);
    const res = await fetch(sink.url);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { alerts: { gameDate: string | null; title: string; body: { text: string }; at: string }[]; refused: number; rateLimited: number };
    assert.equal(doc.alerts.length, 2);
    assert.equal(doc.alerts[0]!.gameDate, "2026-11-28");
    assert.equal(doc.alerts[0]!.body.text, text);
    assert.match(doc.alerts[0]!.title, /triggered without every processor/);
    assert.ok(!Number.isNaN(Date.parse(doc.alerts[0]!.at)));
    assert.equal(doc.alerts[1]!.gameDate, null);
    // The progress line names the date (or that there is none).
    assert.match(seen[0]!, /\(game date 2026-11-28\)$/);
    assert.match(seen[1]!, /\(no game date\)$/);
  });

  it("down answers 503, rate-limit answers 429 with Retry-After; neither keeps the alert; up again keeps it", async () => {
    sink.setMode("down");
    assert.equal((await post(sink.url, { text: "a" })).status, 503);
    sink.setMode("rate-limit");
    const limited = await post(sink.url, { text: "b" });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "1");
    assert.equal(sink.received.length, 0);
    assert.equal(sink.refused, 1);
    assert.equal(sink.rateLimited, 1);
    sink.setDown(false);
    assert.equal((await post(sink.url, { text: "c" })).status, 200);
    assert.equal(sink.received.length, 1);
  });

  it("reads the date from the alerter's Game date line only", () => {
    assert.equal(alertGameDate({ text: "x\n*Game date:* 2026-01-02\n*Details:* `{\"d\":\"2025-01-01\"}`" }), "2026-01-02");
    assert.equal(alertGameDate({ text: "nothing about 2025-01-01 here" }), null);
  });
});

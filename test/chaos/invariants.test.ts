// The invariant checker: a clean run passes every invariant, and each kind of breakage breaks the
// invariant that names it (with the evidence in its detail).
import assert from "node:assert/strict";
import { checkInvariants, INVARIANT_NAMES, matchAlert, type AppliedFault, type ChaosObservations } from "../../tools/chaos/invariants.ts";
import { parseChaosArgs, replayCommand, UsageError } from "../../tools/chaos/args.ts";
import { chaosJson, renderChaosReport, type ChaosReport } from "../../tools/chaos/report.ts";

const T = ["p2", "p3"];
const D = "2026-11-28";

function clean(): ChaosObservations {
  return {
    dates: [D],
    transitions: T,
    completions: [
      { transition: "p2", date: D, processor: "a", executionId: "e1", messageIds: ["m1", "m2"] },
      { transition: "p3", date: D, processor: "b", executionId: "e2", messageIds: ["m3"] },
    ],
    invalid: [{ transition: "p2", messageId: "bad1", kind: "not-json", quarantineId: "p2__bad1", atMs: 1000 }],
    quarantined: ["p2__bad1"],
    deliveries: [
      { transition: "p2", date: D, triggerId: "p2:x", messageId: "t1", atMs: 2000 },
      { transition: "p3", date: D, triggerId: "p3:y", messageId: "t2", atMs: 5000 },
    ],
    latches: [
      { docId: "p2__d", transition: "p2", date: D, mode: "daily", entries: [{ processor: "a", executionId: "e1" }], trigger: { triggerId: "p2:x", state: "published" } },
      { docId: "p3__d", transition: "p3", date: D, mode: "overnight", entries: [{ processor: "b", executionId: "e2" }], trigger: { triggerId: "p3:y", state: "published" } },
    ],
    completionRows: [
      { transition: "p2", date: D, processor: "a", executionId: "e1" },
      { transition: "p3", date: D, processor: "b", executionId: "e2" },
    ],
    statusRows: [
      { transition: "p2", date: D, mode: "daily", triggered: true, triggerId: "p2:x" },
      { transition: "p3", date: D, mode: "overnight", triggered: true, triggerId: "p3:y" },
    ],
    executionLogRows: [
      { triggerId: "p2:x", transition: "p2", date: D },
      { triggerId: "p3:y", transition: "p3", date: D },
    ],
    deadLetters: [],
    alerts: [{ atMs: 1500, title: "Message quarantined by f", text: 'Message quarantined by f\n*Details:* `{"quarantine_id":"p2__bad1"}`', gameDate: null }],
    logs: [],
    faults: [],
    timedOut: false,
  };
}

const fault = (over: Partial<AppliedFault["window"]> & Pick<AppliedFault["window"], "fault" | "dependency">, extra: Partial<AppliedFault> = {}): AppliedFault => ({
  window: { target: "x", fromMs: 0, toMs: 10_000, ...over },
  injectedAtMs: over.fromMs ?? 0,
  healedAtMs: over.toMs ?? 10_000,
  detail: "",
  ...extra,
});

const verdicts = (o: ChaosObservations) => Object.fromEntries(checkInvariants(o).map((r) => [r.name, r.ok]));
const broken = (o: ChaosObservations) => checkInvariants(o).filter((r) => !r.ok).map((r) => r.name);

describe("chaos: the invariants", () => {
  it("a clean run holds every invariant", () => {
    assert.deepEqual(verdicts(clean()), Object.fromEntries(INVARIANT_NAMES.map((n) => [n, true])));
  });

  it("1: a completion missing in Firestore, missing or doubled in phase_completions, or a stray row breaks it", () => {
    const lostFs = clean();
    lostFs.latches[0]!.entries = [];
    assert.deepEqual(broken(lostFs).slice(0, 1), [INVARIANT_NAMES[0]]);
    const doubled = clean();
    doubled.completionRows.push({ ...doubled.completionRows[0]! });
    const r = checkInvariants(doubled)[0]!;
    assert.equal(r.ok, false);
    assert.match(r.detail, /1 with more than one row/);
    const stray = clean();
    stray.completionRows.push({ transition: "p2", date: D, processor: "z", executionId: "nobody" });
    assert.match(checkInvariants(stray)[0]!.detail, /row nobody published/);
  });

  it("2: two trigger ids, or a second message of one trigger without a crash, breaks it; after a crash one is allowed", () => {
    const twoIds = clean();
    twoIds.deliveries.push({ transition: "p2", date: D, triggerId: "p2:other", messageId: "t9", atMs: 9000 });
    assert.ok(broken(twoIds).includes(INVARIANT_NAMES[1]));
    const dup = clean();
    dup.deliveries.push({ transition: "p2", date: D, triggerId: "p2:x", messageId: "t9", atMs: 9000 });
    assert.match(checkInvariants(dup)[1]!.detail, /duplicate delivery of p2:x \(message t9\) at 9.0 s \(first: message t1\): no crash/);
    // A redelivery of one message (same message id) is not a duplicate.
    const redelivered = clean();
    redelivered.deliveries.push({ ...redelivered.deliveries[0]!, atMs: 70_000 });
    assert.equal(checkInvariants(redelivered)[1]!.ok, true);
    const afterCrash = clean();
    afterCrash.faults = [fault({ fault: "crash", dependency: "instance", fromMs: 3000, toMs: 4000 }, { killed: true })];
    afterCrash.deliveries.push({ transition: "p2", date: D, triggerId: "p2:x", messageId: "t9", atMs: 90_000 });
    assert.equal(checkInvariants(afterCrash)[1]!.ok, true);
    afterCrash.deliveries.push({ transition: "p3", date: D, triggerId: "p3:y", messageId: "t10", atMs: 95_000 });
    assert.match(checkInvariants(afterCrash)[1]!.detail, /p3:y .*no crash of a function that publishes it/);
  });

  it("2: a duplicate is explained only by a crash of a function that publishes it, after its latch", () => {
    const o = clean();
    o.latches[0]!.trigger!.decidedAtMs = 50_000;
    o.deliveries.push({ transition: "p2", date: D, triggerId: "p2:x", messageId: "t9", atMs: 90_000 });
    // Before the latch: no explanation.
    o.faults = [fault({ fault: "crash", dependency: "instance", fromMs: 3000, toMs: 4000 }, { killed: true, function: "p2-orch", transition: "p2" })];
    assert.equal(checkInvariants(o)[1]!.ok, false);
    // Another transition's orchestrator after the latch: no explanation.
    o.faults = [fault({ fault: "crash", dependency: "instance", fromMs: 60_000, toMs: 61_000 }, { killed: true, function: "p3-orch", transition: "p3" })];
    assert.equal(checkInvariants(o)[1]!.ok, false);
    // Its own orchestrator, or a scheduled job (publishes any trigger), after the latch: explained.
    o.faults = [fault({ fault: "crash-before-publish", dependency: "instance", fromMs: 60_000, toMs: 61_000 }, { killed: true, function: "p2-orch", transition: "p2" })];
    assert.equal(checkInvariants(o)[1]!.ok, true);
    o.faults = [fault({ fault: "crash", dependency: "instance", fromMs: 60_000, toMs: 61_000 }, { killed: true, function: "sweeper" })];
    assert.match(checkInvariants(o)[1]!.detail, /after a crash: p2:x after crash/);
  });

  it("3: a dead letter, a bad message not quarantined, or not alerted breaks it; a suppressed or undeliverable alert counts as alerted", () => {
    const dead = clean();
    dead.deadLetters.push({ subscription: "dlq", data: JSON.stringify({ processor_name: "A", execution_id: "e1" }) });
    assert.match(checkInvariants(dead)[2]!.detail, /1 valid/);
    const notQ = clean();
    notQ.quarantined = [];
    assert.match(checkInvariants(notQ)[2]!.detail, /not quarantined/);
    const notAlerted = clean();
    notAlerted.alerts = [];
    assert.match(checkInvariants(notAlerted)[2]!.detail, /not alerted/);
    notAlerted.logs.push({ atMs: 1200, function: "f", severity: "ERROR", message: "alert not delivered: slack webhook answered 503", text: '{"details":{"quarantine_id":"p2__bad1"}}' });
    assert.equal(checkInvariants(notAlerted)[2]!.ok, true);
  });

  it("4: a pending trigger, a missing or disagreeing aggregate, a doubled execution log row breaks it", () => {
    const pending = clean();
    pending.latches[1]!.trigger!.state = "pending";
    assert.ok(broken(pending).includes(INVARIANT_NAMES[3]));
    const disagree = clean();
    disagree.statusRows[0] = { ...disagree.statusRows[0]!, triggerId: "p2:old" };
    assert.match(checkInvariants(disagree)[3]!.detail, /Firestore p2:x/);
    const doubled = clean();
    doubled.executionLogRows.push({ ...doubled.executionLogRows[0]! });
    assert.match(checkInvariants(doubled)[3]!.detail, /p2:x: 2 phase_execution_log rows/);
    const noStatus = clean();
    noStatus.statusRows.pop();
    assert.match(checkInvariants(noStatus)[3]!.detail, /0 phase_completion_status rows/);
  });

  it("5: a fault that left work undone is fine when recovered, fine when alerted, broken when neither", () => {
    const o = clean();
    o.faults = [fault({ fault: "firestore-refused", dependency: "firestore", fromMs: 1000, toMs: 6000 })];
    o.logs.push({ atMs: 2000, function: "f", severity: "WARNING", message: "dual write failed", text: '{"store":"firestore"}' });
    const recovered = checkInvariants(o)[4]!;
    assert.equal(recovered.ok, true);
    assert.match(recovered.detail, /left work undone .*recovered by retry/);
    // Not recovered (a completion lost) and no alert: broken.
    o.latches[0]!.entries = [];
    assert.match(checkInvariants(o)[4]!.detail, /neither recovered nor alerted/);
    // An alert during the fault covers it.
    o.alerts.push({ atMs: 3000, title: "Both Firestore and BigQuery writes failed in f", text: "...", gameDate: D });
    assert.equal(checkInvariants(o)[4]!.ok, true);
  });

  it("5: a fault counts as recovered when the invariants covering what it can break hold (a duplicate trigger does not unrecover a BigQuery fault)", () => {
    const o = clean();
    o.faults = [
      fault({ fault: "bigquery-503", dependency: "bigquery", fromMs: 1000, toMs: 6000 }),
      fault({ fault: "pubsub-publish-refused", dependency: "pubsub", fromMs: 1000, toMs: 6000 }),
    ];
    o.logs.push({ atMs: 2000, function: "f", severity: "WARNING", message: "BigQuery write failed", text: '{"store":"bigquery"}' });
    o.logs.push({ atMs: 2500, function: "f", severity: "ERROR", message: "trigger p2:x left pending: publish failed", text: "{}" });
    o.deliveries.push({ transition: "p2", date: D, triggerId: "p2:x", messageId: "t9", atMs: 9000 });
    const r = checkInvariants(o)[4]!;
    assert.match(r.detail, /bigquery-503 .*recovered by retry/);
    assert.match(r.detail, /pubsub-publish-refused .*NEITHER recovered NOR alerted/);
    assert.equal(r.ok, false);
  });

  it("5: alerts are matched to faults by what they say and when; one that matches nothing is reported", () => {
    const slack = fault({ fault: "pubsub-publish-refused", dependency: "pubsub", fromMs: 1000, toMs: 5000 });
    const fs = fault({ fault: "firestore-stalled", dependency: "firestore", fromMs: 20_000, toMs: 25_000 });
    const publishFailed = { atMs: 4000, title: "Trigger p2:x could not be published; left pending", text: "", gameDate: D };
    assert.deepEqual(matchAlert(publishFailed, [slack, fs], []).faults, [slack]);
    const stalled = { atMs: 400_000, title: "p2 2026-11-28 (daily) stalled: no trigger 10 min after the first completion", text: "", gameDate: D };
    assert.deepEqual(matchAlert(stalled, [slack, fs], []).faults, [slack, fs]);
    const o = clean();
    o.alerts.push({ atMs: 1000, title: "Unhandled error in f", text: "", gameDate: null });
    assert.match(checkInvariants(o)[4]!.detail, /1 matching no fault or input \[unmatched: 1.0 s Unhandled error/);
  });

  it("a run that timed out breaks invariant 4 whatever it saw", () => {
    assert.ok(broken({ ...clean(), timedOut: true }).includes(INVARIANT_NAMES[3]));
  });
});

describe("chaos: flags and report", () => {
  it("defaults, the drawn seed, and usage errors", () => {
    const o = parseChaosArgs([], () => 77);
    assert.deepEqual(o, { seed: 77, seedGiven: false, dates: 10, instances: 2, minutes: 3, stack: "dev", json: false, logsFile: null, help: false });
    assert.equal(parseChaosArgs(["--logs", "/tmp/x.jsonl"], () => 1).logsFile, "/tmp/x.jsonl");
    assert.equal(parseChaosArgs(["--seed", "5", "--minutes", "0.5"], () => 1).minutes, 0.5);
    for (const bad of [["--seed", "-1"], ["--seed", "x"], ["--dates", "0"], ["--instances", "9"], ["--minutes", "0.1"], ["--nope"], ["pos"], ["--logs", ""], ["--logs"]]) {
      assert.throws(() => parseChaosArgs(bad, () => 1), UsageError, bad.join(" "));
    }
  });

  it("the replay command carries every flag that shapes the schedule", () => {
    assert.equal(replayCommand({ seed: 9, dates: 2, instances: 3, minutes: 0.5, stack: "dev" }), "npm run chaos -- --seed 9 --dates 2 --instances 3 --minutes 0.5 --stack dev");
    assert.deepEqual(parseChaosArgs(replayCommand({ seed: 9, dates: 2, instances: 3, minutes: 0.5, stack: "dev" }).split(" ").slice(4), () => 1), {
      seed: 9,
      seedGiven: true,
      dates: 2,
      instances: 3,
      minutes: 0.5,
      stack: "dev",
      json: false,
      logsFile: null,
      help: false,
    });
  });

  it("the JSON document has the documented keys, and the text names the seed, the schedule, each invariant and the replay", () => {
    const invariants = checkInvariants(clean());
    const report: ChaosReport = {
      ok: true,
      seed: 9,
      stack: "dev",
      dates: [D],
      instances: 2,
      minutes: 0.5,
      schedule: { seed: 9, durationMs: 30_000, faults: [], inputs: [], dateStartsMs: [0] },
      faults: [fault({ fault: "slack-429", dependency: "slack", fromMs: 1000, toMs: 4000 })],
      invariants,
      counts: { completionsPublished: 2, completionCopies: 1, triggerMessages: 2, badMessages: 1, deadLetters: 0, alerts: 1, alertsRefused: 0, crashes: 0 },
      duplicateDeliveries: [],
      replay: "npm run chaos -- --seed 9",
      durationSeconds: 100,
      recoverySeconds: 12,
    };
    const doc = chaosJson(report);
    for (const k of ["ok", "seed", "dates", "instances", "faults", "invariants", "duplicates", "replay"]) assert.ok(k in doc, k);
    assert.deepEqual((doc.faults as { fault: string; from: number; to: number }[])[0], { fault: "slack-429", target: "x", from: 1, to: 4, injectedAt: 1, healedAt: 4, detail: "" });
    const text = renderChaosReport(report);
    assert.match(text, /seed 9/);
    assert.match(text, /slack-429/);
    for (const n of INVARIANT_NAMES) assert.ok(text.includes(n), n);
    assert.match(text, /replay: npm run chaos -- --seed 9/);
  });
});

describe("chaos: --logs <file>", () => {
  it("writes every line of every instance, all severities, with function and instance, in time order", async () => {
    const { mkdtemp, readFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeFunctionLogs } = await import("../../tools/chaos/log-dump.ts");
    const dir = await mkdtemp(join(tmpdir(), "chaos-logs-"));
    try {
      const instances = new Map([
        ["orch-a", [{ logs: [{ severity: "INFO", message: "second", time: "2026-01-01T00:00:02.000Z" }] }, { logs: [{ severity: "DEBUG", message: "first", time: "2026-01-01T00:00:01.000Z" }] }]],
        ["sweeper", [{ logs: [{ severity: "ERROR", message: "third", time: "2026-01-01T00:00:03.000Z" }] }]],
      ]);
      const file = join(dir, "logs.jsonl");
      assert.equal(await writeFunctionLogs(file, instances), 3);
      const lines = (await readFile(file, "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.map((l) => [l.function, l.instance, l.severity, l.message]), [
        ["orch-a", 1, "DEBUG", "first"],
        ["orch-a", 0, "INFO", "second"],
        ["sweeper", 0, "ERROR", "third"],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

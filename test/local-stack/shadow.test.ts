// `npm start -- --shadow` against the real emulators: one local stack evaluated with triggerMode:
// shadow, a simulated existing orchestrator publishing the live triggers, and the shadow report (the
// code of `npm run shadow:report`) at the end. Each scenario has its own game date. Alongside, the CLI
// itself: a disagreement run (exit 1, the case named in --json) and usage errors (exit 2).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { Message, Subscription } from "@google-cloud/pubsub";
import { shadowTopicName } from "../../functions/core/trigger-routing.ts";
import { EXISTING_TRIGGER_ID_PREFIX } from "../../tools/local-stack/disagreement.ts";
import { runGameDay } from "../../tools/local-stack/game-day.ts";
import { completionMessage, gameDates, loadFixtures, templateFor } from "../../tools/local-stack/messages.ts";
import { withShadow, type GameDayReport } from "../../tools/local-stack/report.ts";
import { localShadowReport, SHADOW_CONFIG } from "../../tools/local-stack/shadow.ts";
import { startLocalStack, type LocalStack } from "../../tools/local-stack/stack.ts";
import type { ShadowReport } from "../../tools/shadow-report.ts";
import { emulatorsDisabled } from "../harness/global-fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TRANSITIONS = ["phase2-to-phase3", "phase3-to-phase4", "phase4-to-phase5", "phase5-to-phase6"];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(entry: string, args: string[], env: Record<string, string> = {}, timeoutMs = 420_000): Promise<Run> {
  // The child gets exactly the emulator hosts it is given (npm start starts its own).
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.FIRESTORE_EMULATOR_HOST === undefined) delete childEnv.FIRESTORE_EMULATOR_HOST;
  if (env.PUBSUB_EMULATOR_HOST === undefined) delete childEnv.PUBSUB_EMULATOR_HOST;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGINT");
      reject(new Error(`${entry} ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const until = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

const rowsOf = (r: ShadowReport) => r.rows.map((row) => [row.transitionId, row.outcome, row.agree]);

describe("npm start -- --shadow: game day beside the existing system, then the shadow report", function () {
  this.timeout(900_000);
  let cliRun: Promise<Run> | undefined;
  let stack: LocalStack | undefined;
  const log: string[] = [];
  const context = () => log.slice(-40).join("\n");

  before(async function () {
    if (emulatorsDisabled()) this.skip();
    // The CLI (its own emulators) runs alongside the in-process scenarios.
    cliRun = run("tools/local-stack/cli.ts", ["--shadow-disagree", "phase5-to-phase6", "--json"]);
    cliRun.catch(() => undefined);
    stack = await startLocalStack({ stack: "dev", log: (l) => log.push(l), config: SHADOW_CONFIG });
  });
  after(async () => {
    await stack?.close();
  });

  it("the stack is evaluated in shadow mode: functions <name>-shadow, a shadow topic and a tap per live trigger topic", () => {
    assert.equal(stack!.triggerMode, "shadow");
    assert.ok([...stack!.functions.keys()].every((n) => n.endsWith("-shadow")), [...stack!.functions.keys()].join(", "));
    const topics = new Set(stack!.plan.topics.map((t) => t.name));
    for (const t of stack!.pipeline.transitions) {
      assert.ok(topics.has(shadowTopicName(t.outputTopicName)), t.outputTopicName);
      assert.ok(stack!.plan.subscriptions.some((s) => s.name === `${t.outputTopicName}-tap` && s.topic === t.outputTopicName && s.pushTo === undefined));
    }
  });

  it("agree: every transition both triggered, the report agrees (exit 0 through shadow:report), and the live topics got only the existing system's triggers", async () => {
    const s = stack!;
    const [date] = gameDates(1, new Date(), s.pipeline.timeZone, 1);
    // Our own readers on every live and shadow trigger topic, to count what each received.
    const seen = { live: [] as Record<string, unknown>[], shadow: [] as Record<string, unknown>[] };
    const subs: Subscription[] = [];
    for (const t of s.pipeline.transitions) {
      for (const [side, topic] of [["live", t.outputTopicName], ["shadow", shadowTopicName(t.outputTopicName)]] as const) {
        const [sub] = await s.ps.topic(topic).createSubscription(`test-count-${topic}-${date}`);
        sub.on("message", (m: Message) => {
          const body = JSON.parse(m.data.toString("utf8")) as Record<string, unknown>;
          if (body.game_date === date) seen[side].push(body);
          m.ack();
        });
        subs.push(sub);
      }
    }
    try {
      const day = await runGameDay(s, { dates: [date!], faults: [], log: (l) => log.push(l), shadow: { disagreements: [] } });
      const report = withShadow(day, await localShadowReport(s, [date!]));
      assert.equal(report.ok, true, JSON.stringify(report.problems) + context());
      assert.deepEqual(rowsOf(report.shadow!), TRANSITIONS.map((t) => [t, "both", true]));
      assert.ok(report.shadow!.rows.every((r) => r.counts.ours === 1 && r.counts.existing === 1 && r.differences.length === 0));
      assert.match(report.shadow!.source, new RegExp(`Firestore ${s.firestore.host}, Pub/Sub ${s.pubsub.host}`));
      assert.deepEqual(
        report.triggers.map((t) => [t.transition, t.count]),
        TRANSITIONS.map((t) => [t, 1]),
      );
      assert.ok(report.faultChecks.some((c) => c.ok && /live trigger topics carry only the existing system's triggers/.test(c.name)));

      // (c) The live topics received the existing system's triggers only: one per transition, none of ours.
      await until("4 live and 4 shadow triggers", () => seen.live.length >= 4 && seen.shadow.length >= 4);
      await new Promise((r) => setTimeout(r, 3000)); // a late extra message would show here
      assert.equal(seen.live.length, 4, JSON.stringify(seen.live));
      assert.ok(seen.live.every((b) => String(b.trigger_id).startsWith(EXISTING_TRIGGER_ID_PREFIX)), JSON.stringify(seen.live));
      // Ours went to the shadow topics, with our deterministic ids (a republish may repeat one, never add another).
      assert.deepEqual([...new Set(seen.shadow.map((b) => String(b.trigger_id).split(":")[0]))].sort(), [...TRANSITIONS].sort());
      assert.ok(seen.shadow.every((b) => !String(b.trigger_id).startsWith(EXISTING_TRIGGER_ID_PREFIX)));

      // The same comparison through `npm run shadow:report`, told where the emulators are the way the Google clients are.
      const env = { FIRESTORE_EMULATOR_HOST: s.firestore.host, PUBSUB_EMULATOR_HOST: s.pubsub.host };
      const cli = await run("tools/shadow-report.ts", ["--stack", "dev", "--since", date!, "--until", date!, "--json"], env, 240_000);
      assert.equal(cli.code, 0, cli.stderr + cli.stdout);
      const doc = JSON.parse(cli.stdout) as ShadowReport;
      assert.deepEqual(rowsOf(doc), TRANSITIONS.map((t) => [t, "both", true]));
      assert.match(cli.stderr, new RegExp(`reading emulators for project ${s.project}`));
      // The taps hand every message back: a second run sees the same.
      const again = await run("tools/shadow-report.ts", ["--stack", "dev", "--since", date!, "--until", date!], env, 240_000);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /\*\*Agree\*\*: 4 transition\/date pair\(s\)/);
    } finally {
      for (const sub of subs) {
        sub.removeAllListeners("message");
        await sub.close();
        await sub.delete();
      }
    }
  });

  it("disagree: a field difference, only the existing system, only ours, each named; shadow:report exits 1", async () => {
    const s = stack!;
    const [date] = gameDates(1, new Date(), s.pipeline.timeZone, 2);
    const day = await runGameDay(s, {
      dates: [date!],
      faults: [],
      log: (l) => log.push(l),
      shadow: {
        disagreements: [
          { transitionId: "phase3-to-phase4", kind: "field" },
          { transitionId: "phase4-to-phase5", kind: "early" },
          { transitionId: "phase5-to-phase6", kind: "skip" },
        ],
      },
    });
    // The run itself is sound: nothing lost, the skipped transition never reached the live topic.
    assert.equal(day.ok, true, JSON.stringify(day.problems) + context());
    assert.deepEqual(day.withheld, ["phase5-to-phase6"]);
    const report = withShadow(day, await localShadowReport(s, [date!]));
    assert.equal(report.ok, false);
    assert.deepEqual(rowsOf(report.shadow!), [
      ["phase2-to-phase3", "both", true],
      ["phase3-to-phase4", "both", false],
      ["phase4-to-phase5", "only_existing", false],
      ["phase5-to-phase6", "only_ours", false],
    ]);
    assert.deepEqual(report.shadow!.rows[1]!.differences.map((d) => d.field), ["analysis_date"]);
    assert.deepEqual(report.problems, [
      `shadow report: phase3-to-phase4 ${date}: both triggered; analysis_date: ours "${date}", existing "${report.shadow!.rows[1]!.differences[0]!.existing as string}"`,
      `shadow report: phase4-to-phase5 ${date}: only the existing system triggered`,
      `shadow report: phase5-to-phase6 ${date}: only ours triggered`,
    ]);
    const env = { FIRESTORE_EMULATOR_HOST: s.firestore.host, PUBSUB_EMULATOR_HOST: s.pubsub.host };
    const cli = await run("tools/shadow-report.ts", ["--stack", "dev", "--since", date!, "--until", date!], env, 240_000);
    assert.equal(cli.code, 1, cli.stderr + cli.stdout);
    assert.match(cli.stdout, /\*\*Disagree\*\*: 3 of 4/);
    assert.match(cli.stdout, /only the existing system triggered/);
    assert.match(cli.stdout, /only ours triggered/);
  });

  it("neither: a phase with too few completions for either system is reported as neither triggered, which agrees", async () => {
    const s = stack!;
    const [date] = gameDates(1, new Date(), s.pipeline.timeZone, 3);
    const first = s.pipeline.transitions.find((t) => t.fromPhase === 2)!;
    const msg = completionMessage(first, templateFor(first, first.processors[0]!.name, loadFixtures()), { gameDate: date!, correlationId: `neither-${date}`, at: new Date() });
    await s.ps.topic(first.inputTopicName).publishMessage({ data: Buffer.from(JSON.stringify(msg)) });
    await until("the completion recorded in phase state", async () => !(await s.db.collection(s.collections.phaseState).where("gameDate", "==", date).get()).empty);
    const report = await localShadowReport(s, [date!]);
    assert.deepEqual(rowsOf(report), [["phase2-to-phase3", "neither", true]]);
    assert.equal(report.agree, true);
  });

  describe("the CLI", () => {
    it("an unknown transition or an impossible field disagreement is a usage error (exit 2) before anything starts", async () => {
      const unknown = await run("tools/local-stack/cli.ts", ["--shadow-disagree", "phase9-to-phase10", "--json"], {}, 240_000);
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.match(unknown.stderr, /phase9-to-phase10: not a transition of this stack/);
      assert.doesNotMatch(unknown.stderr, /starting the emulators/);
      assert.equal((JSON.parse(unknown.stdout) as { ok: boolean }).ok, false);
      const field = await run("tools/local-stack/cli.ts", ["--shadow-disagree", "phase2-to-phase3:field"], {}, 240_000);
      assert.equal(field.code, 2, field.stderr);
      assert.match(field.stderr, /reads no field besides game_date/);
    });

    it("npm start -- --shadow-disagree phase5-to-phase6 --json: exit 1, one JSON document naming only ours for phase5-to-phase6", async function () {
      if (cliRun === undefined) this.skip();
      const r = await cliRun;
      assert.equal(r.code, 1, r.stderr.slice(-4000));
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 1, r.stdout);
      const doc = JSON.parse(lines[0]!) as GameDayReport & { shadow: ShadowReport };
      assert.equal(doc.ok, false);
      assert.deepEqual(rowsOf(doc.shadow), [
        ["phase2-to-phase3", "both", true],
        ["phase3-to-phase4", "both", true],
        ["phase4-to-phase5", "both", true],
        ["phase5-to-phase6", "only_ours", false],
      ]);
      assert.deepEqual(doc.problems, [`shadow report: phase5-to-phase6 ${doc.dates[0]}: only ours triggered`]);
      assert.match(r.stderr, /phase5-to-phase6 \S+: decided to trigger, withheld on purpose/);
    });
  });
});

// Faults injected into the system under test (the functions' paths to Firestore, BigQuery, Pub/Sub and
// Slack; a function process; its input) for a window, then healed. The simulated processors and the
// report read the emulators directly, so a fault never hides what the system did.
import { randomBytes } from "node:crypto";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import { latchModeFor, phaseStateDocId } from "../../functions/core/phase-state.ts";
import type { FaultName } from "./args.ts";
import type { FixtureCase } from "./messages.ts";
import { malformedMessages, unknownProcessorTemplate } from "./messages.ts";
import type { FaultRecord } from "./report.ts";
import type { LocalStack } from "./stack.ts";
import { pythonIsoTimestamp } from "../../functions/core/trigger-message.ts";

export interface FaultContext {
  stack: LocalStack;
  log: (line: string) => void;
  /** Milliseconds since the game day started. */
  since: () => number;
  windowMs: number;
  /** The first transition (phase 2 -> 3): where the game day starts. */
  first: Transition;
  dates: string[];
  /** Every fault of this run (a fault's own checks may only hold when it is alone). */
  allFaults: readonly FaultName[];
  fixtures: Map<string, FixtureCase[]>;
  /** Publish raw bytes to a transition's input topic, recorded as the run's own message. */
  publishRaw(t: Transition, data: Buffer): Promise<string>;
}

export interface RunningFault {
  record: FaultRecord;
  expectedQuarantined: number;
  /** Resolves once the fault is healed. */
  healed: Promise<void>;
  /** Checks evaluated at the end of the run. */
  checks(): { name: string; ok: boolean; detail: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run `inject`, then `heal` after the window; the record says when each happened. */
function windowed(name: FaultName, detail: string, ctx: FaultContext, inject: () => Promise<void> | void, heal: () => Promise<void> | void, extra: Partial<RunningFault> = {}): RunningFault {
  const record: FaultRecord = { name, detail, injectedAtMs: ctx.since(), healedAtMs: null };
  const healed = (async () => {
    await inject();
    ctx.log(`fault ${name}: injected (${detail}) for ${(ctx.windowMs / 1000).toFixed(1)} s`);
    await sleep(ctx.windowMs);
    await heal();
    record.healedAtMs = ctx.since();
    ctx.log(`fault ${name}: healed`);
  })();
  return { record, expectedQuarantined: 0, healed, checks: () => [], ...extra };
}

export function startFault(name: FaultName, ctx: FaultContext): RunningFault {
  const { stack } = ctx;
  switch (name) {
    case "firestore-down":
      return windowed(
        name,
        "the functions' connections to Firestore are refused",
        ctx,
        () => stack.firestoreProxy.setMode("refuse"),
        () => stack.firestoreProxy.setMode("pass"),
      );
    case "bigquery-down":
      return windowed(
        name,
        "the BigQuery fake stops listening (connections refused)",
        ctx,
        () => stack.bigquery.setDown(true),
        () => stack.bigquery.setDown(false),
      );
    case "pubsub-publish":
      return windowed(
        name,
        "the functions' connections to Pub/Sub are refused (push deliveries from the emulator still arrive)",
        ctx,
        () => {
          for (const p of stack.pubsubProxies.values()) p.setMode("refuse");
        },
        () => {
          for (const p of stack.pubsubProxies.values()) p.setMode("pass");
        },
      );
    case "slack-down":
      return slackDown(ctx);
    case "malformed":
      return malformed(ctx);
    case "crash-before-publish":
      return crashBeforePublish(ctx);
  }
}

/** Slack answers 503; an alerting probe (an unknown processor) goes in during the outage and one after it. */
function slackDown(ctx: FaultContext): RunningFault {
  const { stack } = ctx;
  const refusedBefore = stack.slack.refused;
  let healedAt = Number.POSITIVE_INFINITY;
  // A processor name never seen before, so its first-sighting alert is neither de-duplicated by the
  // alerter nor by the unknown-processor ledger of an earlier run on the same stack.
  let probes = 0;
  const probe = async () => {
    probes += 1;
    const name = `LocalStackProbe${randomBytes(3).toString("hex")}N${probes}Processor`;
    const msg = { ...unknownProcessorTemplate(ctx.first, ctx.fixtures), processor_name: name, game_date: ctx.dates[0], timestamp: pythonIsoTimestamp(new Date()) };
    await ctx.publishRaw(ctx.first, Buffer.from(JSON.stringify(msg)));
  };
  const fault = windowed(
    "slack-down",
    "the Slack sink answers 503; an unknown-processor probe (it alerts) is published during the outage and another after it",
    ctx,
    async () => {
      stack.slack.setDown(true);
      await probe();
    },
    async () => {
      stack.slack.setDown(false);
      healedAt = Date.now();
      await probe();
    },
    {
      expectedQuarantined: 2,
      checks: () => {
        const refused = stack.slack.refused - refusedBefore;
        const after = stack.slack.received.filter((a) => a.at >= healedAt).length;
        const logged = [...stack.functions.values()].some((f) => f.logs.some((l) => String(l.message ?? "").startsWith("alert not delivered")));
        const afterHeal = { name: "slack-down: alerts arrive again after healing", ok: after > 0, detail: `${after} alert(s) received after healing` };
        // With other faults in the same window the probe may not get as far as alerting during the
        // outage (e.g. its quarantine write fails first and it is redelivered later).
        if (ctx.allFaults.length > 1) return [afterHeal];
        return [
          { name: "slack-down: alerts were attempted during the outage", ok: refused > 0, detail: `${refused} webhook call(s) refused` },
          { name: "slack-down: an undelivered alert was logged at ERROR", ok: logged, detail: logged ? "\"alert not delivered\" logged" : "no \"alert not delivered\" log line" },
          afterHeal,
        ];
      },
    },
  );
  return fault;
}

function malformed(ctx: FaultContext): RunningFault {
  const messages = malformedMessages(ctx.first, ctx.fixtures, ctx.dates[0]!, new Date());
  const record: FaultRecord = { name: "malformed", detail: `published ${messages.map((m) => m.label).join("; ")}`, injectedAtMs: ctx.since(), healedAtMs: null };
  const healed = (async () => {
    for (const m of messages) await ctx.publishRaw(ctx.first, m.data);
    record.healedAtMs = ctx.since();
    ctx.log(`fault malformed: published ${messages.length} malformed message(s)`);
  })();
  return { record, expectedQuarantined: messages.length, healed, checks: () => [] };
}

/**
 * The first orchestrator's publish path stalls; as soon as Firestore shows its trigger latched as
 * pending, the process is SIGKILLed (the publish never completed), then restarted on the same port
 * with the path restored. Redelivery (or the sweeper) must then publish the pending trigger once.
 */
function crashBeforePublish(ctx: FaultContext): RunningFault {
  const { stack } = ctx;
  const fnName = stack.orchestrators.get(ctx.first.id);
  const record: FaultRecord = { name: "crash-before-publish", detail: "", injectedAtMs: ctx.since(), healedAtMs: null };
  let observedPending: string | undefined;
  const healed = (async () => {
    if (fnName === undefined) throw new Error(`no declared function serves ${ctx.first.id}`);
    const fn = stack.functions.get(fnName)!;
    const proxy = stack.pubsubProxies.get(fnName)!;
    proxy.setMode("stall");
    ctx.log(`fault crash-before-publish: ${fnName}'s publish path stalled; waiting for a pending trigger`);
    const refs = ctx.dates.map((d) => stack.db.collection(stack.collections.phaseState).doc(phaseStateDocId(ctx.first.id, d, latchModeFor(ctx.first, d, new Date(), stack.pipeline.timeZone))));
    const deadline = Date.now() + 60_000;
    while (observedPending === undefined && Date.now() < deadline) {
      const snaps = await stack.db.getAll(...refs);
      for (const s of snaps) {
        const trigger = (s.data() as { trigger?: { state?: string; triggerId?: string } | null } | undefined)?.trigger;
        if (trigger?.state === "pending") observedPending = trigger.triggerId;
      }
      if (observedPending === undefined) await sleep(50);
    }
    // Callers wait at the front (as at Cloud Run's front end) while the instance is replaced; requests
    // in flight to the dead process fail, as they do when an instance crashes.
    const front = stack.frontProxies.get(fnName)!;
    front.setMode("stall");
    await fn.kill();
    // The dead process's stalled connections are reset, not resumed: a publish it never finished
    // sending must not reach the emulator after its death.
    proxy.setMode("reset");
    proxy.setMode("pass");
    await fn.restart();
    front.setMode("pass");
    record.detail =
      observedPending === undefined
        ? `${fnName} killed, but no trigger was seen pending within 60 s; restarted`
        : `${fnName} SIGKILLed while trigger ${observedPending} was pending (its publish stalled), then restarted on the same port`;
    record.healedAtMs = ctx.since();
    ctx.log(`fault crash-before-publish: ${record.detail}`);
  })();
  return {
    record,
    expectedQuarantined: 0,
    healed,
    checks: () => [
      {
        name: "crash-before-publish: the process died with a pending trigger",
        ok: observedPending !== undefined,
        detail: observedPending === undefined ? "no pending trigger was observed before the kill" : `pending ${observedPending}`,
      },
    ],
  };
}

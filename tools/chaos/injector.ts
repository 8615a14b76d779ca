// Applies a chaos schedule to a running local stack: each fault at its moment, healed at its end.
// Faults of one kind of path are composed, not overwritten: a function's Pub/Sub path refused by a
// pubsub window and stalled by a crash-before-publish stays refused until the window ends, then stalls.
import { latchModeFor, phaseStateDocId } from "../../functions/core/phase-state.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import type { LocalStack } from "../local-stack/stack.ts";
import type { AppliedFault } from "./invariants.ts";
import type { ChaosSchedule } from "./schedule.ts";

export interface InjectorContext {
  stack: LocalStack;
  schedule: ChaosSchedule;
  dates: readonly string[];
  /** Milliseconds since the run started. */
  since: () => number;
  log: (line: string) => void;
}

export interface RunningInjector {
  /** One record per scheduled fault, filled in as it is applied. */
  readonly applied: AppliedFault[];
  /** Names of the faults active now. */
  active(): string[];
  /** Resolves when every fault has been applied and healed. */
  readonly done: Promise<void>;
  /** Heals whatever is still injected (on an early stop). */
  healAll(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** While other work holds a table's DML slots: one statement at a time, none queued, each slow. */
export const SATURATED_DML = { maxRunning: 1, maxQueued: 0, durationMs: 5000 } as const;

export function startInjector(ctx: InjectorContext): RunningInjector {
  const { stack } = ctx;
  const applied: AppliedFault[] = ctx.schedule.faults.map((window) => ({ window, injectedAtMs: -1, healedAtMs: null, detail: "not yet applied" }));
  const active = new Set<AppliedFault>();
  let pubsubRefused = 0;
  const publishStalled = new Set<string>();
  const originalDml = { ...stack.bigquery.behaviour.dml };
  // Kills and restarts of one function never interleave (a restart racing another would start two
  // processes on one port).
  const locks = new Map<string, Promise<unknown>>();
  const exclusive = <T>(fn: string, work: () => Promise<T>): Promise<T> => {
    const run = (locks.get(fn) ?? Promise.resolve()).then(work, work);
    locks.set(fn, run.catch(() => undefined));
    return run;
  };

  /** Every function's Pub/Sub path: refused while a pubsub window is open, else stalled for a crash-before-publish, else passing. */
  const applyPubsub = (): void => {
    for (const [fn, proxy] of stack.pubsubProxies) {
      const want = pubsubRefused > 0 ? "refuse" : publishStalled.has(fn) ? "stall" : "pass";
      if (proxy.mode !== want) proxy.setMode(want);
    }
  };

  const transitionOf = (fnName: string): Transition | undefined => {
    const id = [...stack.orchestrators].find(([, name]) => name === fnName)?.[0];
    return stack.pipeline.transitions.find((t) => t.id === id);
  };

  const parseTarget = (target: string): { fn: string; instance: number | "*" } => {
    const at = target.lastIndexOf("#");
    const rest = target.slice(at + 1);
    return { fn: target.slice(0, at), instance: rest === "*" ? "*" : Number(rest) };
  };

  async function inject(f: AppliedFault): Promise<void> {
    const w = f.window;
    switch (w.fault) {
      case "firestore-refused":
        stack.firestoreProxy.setMode("refuse");
        f.detail = "connections to the Firestore emulator refused (open ones reset)";
        return;
      case "firestore-stalled":
        stack.firestoreProxy.setMode("stall");
        f.detail = "the Firestore path accepts but forwards nothing (calls hang until their deadline)";
        return;
      case "bigquery-down":
        await stack.bigquery.setDown(true);
        f.detail = "the BigQuery fake stopped listening";
        return;
      case "bigquery-503":
      case "bigquery-429": {
        const status = w.fault === "bigquery-503" ? 503 : 429;
        stack.bigquery.injectFault({ method: "any", status, times: Number.MAX_SAFE_INTEGER });
        f.detail = `every BigQuery call answered ${status} (${status === 503 ? "backendError" : "rateLimitExceeded"})`;
        return;
      }
      case "bigquery-dml-limit":
        stack.bigquery.configure({ dml: SATURATED_DML });
        f.detail = `DML limited to ${SATURATED_DML.maxRunning} running, ${SATURATED_DML.maxQueued} queued per table, ${SATURATED_DML.durationMs / 1000} s each: more is refused (resourcesExceeded)`;
        return;
      case "pubsub-publish-refused":
        pubsubRefused += 1;
        applyPubsub();
        f.detail = "every function's connections to Pub/Sub refused (push deliveries still arrive)";
        return;
      case "slack-down":
        stack.slack.setMode("down");
        f.detail = "the Slack webhook answered 503";
        return;
      case "slack-429":
        stack.slack.setMode("rate-limit");
        f.detail = "the Slack webhook answered 429 with Retry-After: 1";
        return;
      case "crash":
        return crash(f);
      case "crash-before-publish":
        return crashBeforePublish(f);
    }
  }

  async function heal(f: AppliedFault): Promise<void> {
    switch (f.window.fault) {
      case "firestore-refused":
      case "firestore-stalled":
        stack.firestoreProxy.setMode("pass");
        return;
      case "bigquery-down":
        await stack.bigquery.setDown(false);
        return;
      case "bigquery-503":
      case "bigquery-429":
        stack.bigquery.clearFaults();
        return;
      case "bigquery-dml-limit":
        stack.bigquery.configure({ dml: originalDml });
        return;
      case "pubsub-publish-refused":
        pubsubRefused -= 1;
        applyPubsub();
        return;
      case "slack-down":
      case "slack-429":
        stack.slack.setMode("up");
        return;
      case "crash":
      case "crash-before-publish":
        return;
    }
  }

  /** SIGKILL one instance at its moment (whatever it is doing), then start it again on its port. */
  async function crash(f: AppliedFault): Promise<void> {
    const { fn, instance } = parseTarget(f.window.target);
    const instances = stack.instances.get(fn) ?? [];
    const victim = instances[instance === "*" ? 0 : instance % Math.max(1, instances.length)];
    f.function = fn;
    const transition = transitionOf(fn);
    if (transition !== undefined) f.transition = transition.id;
    if (victim === undefined) {
      f.detail = `no instance ${f.window.target}`;
      return;
    }
    const downMs = Math.max(0, f.window.toMs - f.window.fromMs);
    await exclusive(fn, async () => {
      await victim.kill();
      f.killed = true;
      ctx.log(`chaos: SIGKILLed ${f.window.target}; restarting it in ${(downMs / 1000).toFixed(1)} s`);
      await sleep(downMs);
      await victim.restart();
    });
    f.detail = `SIGKILLed, down ${(downMs / 1000).toFixed(1)} s, restarted on its port`;
  }

  /**
   * As npm start's crash-before-publish: the function's publish path stalls; once one of its triggers
   * for the run's dates is pending in Firestore (or the window ends), every instance is SIGKILLed, the
   * half-sent publishes are reset (never delivered), and the instances start again.
   */
  async function crashBeforePublish(f: AppliedFault): Promise<void> {
    const { fn } = parseTarget(f.window.target);
    const transition = transitionOf(fn);
    const group = stack.functions.get(fn);
    const proxy = stack.pubsubProxies.get(fn);
    const front = stack.frontProxies.get(fn);
    if (transition === undefined || group === undefined || proxy === undefined || front === undefined) {
      f.detail = `${fn} is no orchestrator of this stack`;
      return;
    }
    f.function = fn;
    f.transition = transition.id;
    publishStalled.add(fn);
    applyPubsub();
    const refs = ctx.dates.map((d) => stack.db.collection(stack.collections.phaseState).doc(phaseStateDocId(transition.id, d, latchModeFor(transition, d, new Date(), stack.pipeline.timeZone))));
    let pending: string | undefined;
    while (pending === undefined && ctx.since() < f.window.toMs) {
      const snaps = await stack.db.getAll(...refs);
      for (const s of snaps) {
        const trigger = (s.data() as { trigger?: { state?: string; triggerId?: string } | null } | undefined)?.trigger;
        if (trigger?.state === "pending") pending = trigger.triggerId;
      }
      if (pending === undefined) await sleep(100);
    }
    await exclusive(fn, async () => {
      front.setMode("stall");
      await group.kill();
      f.killed = true;
      if (pending !== undefined) f.pendingTrigger = pending;
      publishStalled.delete(fn);
      proxy.setMode("reset");
      applyPubsub();
      await group.restart();
      front.setMode("pass");
    });
    f.detail = pending === undefined ? `no trigger of ${transition.id} went pending in the window; every instance SIGKILLed anyway and restarted` : `every instance SIGKILLed while ${pending} was pending (publish stalled), restarted`;
    ctx.log(`chaos: ${f.window.fault} ${fn}: ${f.detail}`);
  }

  const runOne = async (f: AppliedFault): Promise<void> => {
    const wait = f.window.fromMs - ctx.since();
    if (wait > 0) await sleep(wait);
    f.injectedAtMs = ctx.since();
    active.add(f);
    ctx.log(`chaos: ${(f.injectedAtMs / 1000).toFixed(1)} s inject ${f.window.fault} on ${f.window.target}`);
    try {
      await inject(f);
      const remaining = f.window.toMs - ctx.since();
      if (f.window.dependency !== "instance" && remaining > 0) await sleep(remaining);
    } finally {
      await heal(f);
      f.healedAtMs = ctx.since();
      active.delete(f);
      ctx.log(`chaos: ${(f.healedAtMs / 1000).toFixed(1)} s healed ${f.window.fault} on ${f.window.target}`);
    }
  };

  const done = Promise.all(applied.map(runOne)).then(() => undefined);
  return {
    applied,
    active: () => [...active].map((f) => f.window.fault),
    done,
    healAll: async () => {
      stack.firestoreProxy.setMode("pass");
      pubsubRefused = 0;
      publishStalled.clear();
      applyPubsub();
      stack.bigquery.clearFaults();
      stack.bigquery.configure({ dml: originalDml });
      await stack.bigquery.setDown(false);
      stack.slack.setMode("up");
      for (const front of stack.frontProxies.values()) front.setMode("pass");
    },
  };
}

// The chaos report: text and the --json document (pure).
import type { AppliedFault, InvariantResult } from "./invariants.ts";
import type { ChaosSchedule } from "./schedule.ts";

export interface ChaosCounts {
  completionsPublished: number;
  completionCopies: number;
  triggerMessages: number;
  badMessages: number;
  deadLetters: number;
  alerts: number;
  alertsRefused: number;
  crashes: number;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  stack: string;
  dates: string[];
  instances: number;
  minutes: number;
  schedule: ChaosSchedule;
  faults: AppliedFault[];
  invariants: InvariantResult[];
  counts: ChaosCounts;
  /** Extra trigger deliveries (a second message of one trigger id), each allowed only after a crash. */
  duplicateDeliveries: { triggerId: string; atMs: number }[];
  replay: string;
  durationSeconds: number;
  /** Seconds from the last heal until everything converged (null: never). */
  recoverySeconds: number | null;
}

const s = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);

export function chaosJson(r: ChaosReport): Record<string, unknown> {
  return {
    ok: r.ok,
    seed: r.seed,
    stack: r.stack,
    dates: r.dates,
    instances: r.instances,
    minutes: r.minutes,
    faults: r.faults.map((f) => ({
      fault: f.window.fault,
      target: f.window.target,
      from: f.window.fromMs / 1000,
      to: f.window.toMs / 1000,
      injectedAt: f.injectedAtMs / 1000,
      healedAt: f.healedAtMs === null ? null : f.healedAtMs / 1000,
      detail: f.detail,
    })),
    inputs: r.schedule.inputs.map((i) => ({ kind: i.kind, transition: i.transition, at: i.atMs / 1000 })),
    invariants: r.invariants.map((i) => ({ name: i.name, ok: i.ok, detail: i.detail })),
    duplicates: {
      completionCopies: r.counts.completionCopies,
      triggerDeliveries: r.duplicateDeliveries.length,
      crashes: r.counts.crashes,
      triggers: r.duplicateDeliveries.map((d) => ({ triggerId: d.triggerId, at: d.atMs / 1000 })),
    },
    counts: r.counts,
    recoverySeconds: r.recoverySeconds,
    durationSeconds: r.durationSeconds,
    replay: r.replay,
  };
}

export function renderChaosReport(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`chaos run on stack ${r.stack}: seed ${r.seed}, ${r.dates.length} date(s) ${r.dates[0] ?? ""}..${r.dates.at(-1) ?? ""}, ${r.instances} instance(s) per function, faults for ${r.minutes} min; ${r.durationSeconds.toFixed(0)} s in all`);
  lines.push("");
  lines.push("schedule (seconds after the start):");
  for (const f of r.faults) {
    lines.push(`  ${f.window.fault.padEnd(24)} ${f.window.target.padEnd(48)} ${s(f.window.fromMs).padStart(8)} -> ${s(f.window.toMs).padStart(8)}   ${f.detail}`);
  }
  for (const i of r.schedule.inputs) lines.push(`  input ${i.kind.padEnd(18)} ${i.transition.padEnd(48)} ${s(i.atMs).padStart(8)}`);
  lines.push("");
  const c = r.counts;
  lines.push(
    `counts: ${c.completionsPublished} completions (+${c.completionCopies} copies), ${c.triggerMessages} trigger messages, ${r.duplicateDeliveries.length} duplicate deliveries, ` +
      `${c.crashes} crash(es), ${c.badMessages} bad messages, ${c.deadLetters} dead letters, ${c.alerts} alerts (${c.alertsRefused} refused or rate-limited)`,
  );
  lines.push(`recovery: ${r.recoverySeconds === null ? "did not converge" : `converged ${r.recoverySeconds.toFixed(0)} s after the last heal`}`);
  lines.push("");
  lines.push("invariants:");
  r.invariants.forEach((inv, n) => lines.push(`  ${n + 1}. ${inv.ok ? "ok    " : "BROKEN"} ${inv.name}: ${inv.detail}`));
  lines.push("");
  lines.push(r.ok ? "OK: every invariant holds" : "FAILED: an invariant broke (docs/CHAOS.md: reading a failure)");
  lines.push(`replay: ${r.replay}`);
  return lines.join("\n") + "\n";
}

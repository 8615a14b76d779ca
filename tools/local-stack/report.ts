// The game day's report: what was observed, whether the run is ok, and how it is printed. Pure.
import type { ShadowReport } from "../shadow-report.ts";
import { OUTCOME_TEXT, renderShadowReport } from "../shadow-report/render.ts";

export interface TriggerCount {
  transition: string;
  gameDate: string;
  /** Distinct trigger ids acted on (what "triggered" means downstream: de-duplicated by trigger_id). */
  count: number;
  /** Trigger messages delivered, re-deliveries and outbox re-publishes included. */
  deliveries: number;
  /** First completion published for this phase and date -> trigger received, seconds; null if never. */
  seconds: number | null;
}

export interface FaultRecord {
  name: string;
  /** What was done, in words. */
  detail: string;
  /** Milliseconds after the game day started. */
  injectedAtMs: number;
  healedAtMs: number | null;
}

export interface Observations {
  stack: string;
  dates: string[];
  transitions: string[];
  /**
   * Shadow game day: transitions the processors never receive a trigger for (the simulated existing
   * system skips one on purpose, and nothing after it starts). Expected: no live trigger at all.
   */
  withheld?: string[];
  triggers: TriggerCount[];
  completions: { published: number; duplicatesPublished: number; firestore: number; bigquery: number };
  deadLettered: number;
  deadLetters: { subscription: string; preview: string }[];
  quarantined: number;
  expectedQuarantined: number;
  /** Triggers still pending in the Firestore outbox at the end. */
  pendingTriggers: string[];
  alerts: number;
  alertsRefused: number;
  /** Alerts the Slack sink received after the last fault healed. */
  alertsAfterHeal: number;
  faults: FaultRecord[];
  /** Checks a fault adds (e.g. slack-down: an alert got through after healing). */
  faultChecks: { name: string; ok: boolean; detail: string }[];
  localOverrides: string[];
  notes: string[];
  durationSeconds: number;
  timedOut: boolean;
}

export interface GameDayReport extends Observations {
  ok: boolean;
  problems: string[];
  /** `npm start -- --shadow`: the shadow report read after the game day (withShadow). */
  shadow?: ShadowReport;
}

/** A shadow game day is ok only when the run was and the shadow report agrees; each difference is a problem. */
export function withShadow(r: GameDayReport, shadow: ShadowReport): GameDayReport {
  const differing = shadow.rows.filter((row) => !row.agree);
  const problems = differing.map(
    (row) =>
      `shadow report: ${row.transitionId} ${row.gameDate}: ${OUTCOME_TEXT[row.outcome]}` +
      row.differences.map((d) => `; ${d.field}: ours ${JSON.stringify(d.ours)}, existing ${JSON.stringify(d.existing)}`).join(""),
  );
  if (shadow.rows.length === 0) problems.push("shadow report: nothing to compare (no phase state and no live trigger read)");
  return { ...r, shadow, ok: r.ok && problems.length === 0, problems: [...r.problems, ...problems] };
}

/** ok only when every transition triggered exactly once per date and nothing was lost. */
export function judge(o: Observations): GameDayReport {
  const problems: string[] = [];
  for (const date of o.dates) {
    for (const t of o.transitions) {
      const n = o.triggers.find((x) => x.transition === t && x.gameDate === date)?.count ?? 0;
      const expected = o.withheld?.includes(t) === true ? 0 : 1;
      if (n !== expected) problems.push(`${t} ${date}: triggered ${n} times, expected ${expected === 1 ? "exactly once" : "never (withheld by the existing system)"}`);
    }
  }
  const c = o.completions;
  if (c.firestore !== c.published) problems.push(`completions: ${c.published} published, ${c.firestore} recorded in Firestore`);
  if (c.bigquery !== c.published) problems.push(`completions: ${c.published} published, ${c.bigquery} rows in BigQuery`);
  if (o.deadLettered > 0) problems.push(`${o.deadLettered} message(s) dead-lettered`);
  if (o.quarantined !== o.expectedQuarantined) problems.push(`${o.quarantined} message(s) quarantined, expected ${o.expectedQuarantined}`);
  if (o.pendingTriggers.length > 0) problems.push(`triggers still pending in the outbox: ${o.pendingTriggers.join(", ")}`);
  for (const f of o.faults) if (f.healedAtMs === null) problems.push(`fault ${f.name} was never healed`);
  for (const check of o.faultChecks) if (!check.ok) problems.push(`${check.name}: ${check.detail}`);
  if (o.timedOut) problems.push("the game day did not reach the last phase for every date in time");
  return { ...o, ok: problems.length === 0, problems };
}

/** The --json document. */
export function reportJson(r: GameDayReport): Record<string, unknown> {
  return {
    ok: r.ok,
    stack: r.stack,
    dates: r.dates,
    triggers: r.triggers.map((t) => ({ transition: t.transition, gameDate: t.gameDate, count: t.count, deliveries: t.deliveries, seconds: t.seconds })),
    completions: r.completions,
    deadLettered: r.deadLettered,
    quarantined: r.quarantined,
    alerts: r.alerts,
    alertsRefused: r.alertsRefused,
    faults: r.faults,
    faultChecks: r.faultChecks,
    pendingTriggers: r.pendingTriggers,
    problems: r.problems,
    localOverrides: r.localOverrides,
    notes: r.notes,
    durationSeconds: r.durationSeconds,
    ...(r.withheld === undefined || r.withheld.length === 0 ? {} : { withheld: r.withheld }),
    ...(r.shadow === undefined ? {} : { shadow: r.shadow }),
  };
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));

export function renderReport(r: GameDayReport): string {
  const lines: string[] = [];
  lines.push(`game day on stack ${r.stack}: ${r.dates.length} date(s) ${r.dates.join(", ")} in ${r.durationSeconds.toFixed(1)} s`);
  lines.push("");
  lines.push(`${pad("transition", 20)} ${pad("game date", 11)} triggers  deliveries  time`);
  for (const t of r.triggers) {
    const withheld = r.withheld?.includes(t.transition) === true ? "  (withheld by the existing system)" : "";
    lines.push(`${pad(t.transition, 20)} ${pad(t.gameDate, 11)} ${pad(String(t.count), 9)} ${pad(String(t.deliveries), 11)} ${t.seconds === null ? "-" : `${t.seconds.toFixed(1)} s`}${withheld}`);
  }
  lines.push("");
  const c = r.completions;
  lines.push(`completions: ${c.published} published (+${c.duplicatesPublished} duplicates), ${c.firestore} in Firestore, ${c.bigquery} in BigQuery`);
  lines.push(`dead letters: ${r.deadLettered}   quarantined: ${r.quarantined} (expected ${r.expectedQuarantined})   alerts received: ${r.alerts} (refused while down: ${r.alertsRefused})`);
  for (const d of r.deadLetters.slice(0, 5)) lines.push(`  dead letter on ${d.subscription}: ${d.preview}`);
  for (const f of r.faults) {
    lines.push(`fault ${f.name}: ${f.detail}; injected at ${(f.injectedAtMs / 1000).toFixed(1)} s, healed ${f.healedAtMs === null ? "never" : `at ${(f.healedAtMs / 1000).toFixed(1)} s`}`);
  }
  for (const check of r.faultChecks) lines.push(`  ${check.ok ? "ok" : "FAILED"}: ${check.name}: ${check.detail}`);
  for (const o of r.localOverrides) lines.push(`local override: ${o}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push("");
  if (r.shadow !== undefined) lines.push(`shadow report read from ${r.shadow.source}:`, "", renderShadowReport(r.stack, r.shadow));
  if (r.ok) lines.push(r.shadow === undefined ? "OK: every transition triggered exactly once per date, nothing lost" : "OK: nothing lost, and the shadow report agrees with the existing system");
  else for (const p of r.problems) lines.push(`FAILED: ${p}`);
  return lines.join("\n") + "\n";
}

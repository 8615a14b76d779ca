// The invariants a chaos run must end with, judged from what the run observed (pure). Each result
// carries its evidence: what was counted and, when it breaks, the first offending items.
import type { FaultWindow, InputKind } from "./schedule.ts";

export interface PublishedCompletion {
  transition: string;
  date: string;
  processor: string;
  executionId: string;
  /** Pub/Sub message ids of every copy published (duplicates included). */
  messageIds: string[];
}

export interface InvalidMessage {
  transition: string;
  messageId: string;
  kind: InputKind;
  /** Its quarantine document id. */
  quarantineId: string;
  /** The unknown processor name, for unknown-processor messages. */
  processorName?: string;
  atMs: number;
}

export interface TriggerDelivery {
  transition: string;
  date: string;
  triggerId: string;
  /** Pub/Sub message id: a republish is another message; a redelivery of one message is not a duplicate. */
  messageId: string;
  atMs: number;
  /** When Pub/Sub accepted the publish, ms after the run started (evidence). */
  publishedAtMs?: number;
}

export interface LatchSeen {
  docId: string;
  transition: string;
  date: string;
  mode: string;
  entries: { processor: string; executionId: string }[];
  /** decidedAtMs: when the trigger was latched, ms after the run started. */
  trigger: { triggerId: string; state: string; decidedAtMs?: number } | null;
}

export interface CompletionRow {
  transition: string;
  date: string;
  processor: string;
  executionId: string;
  /** The Pub/Sub message id of the delivery that wrote it (evidence for a doubled row). */
  messageId?: string;
  recordedAt?: string;
}

export interface StatusRow {
  transition: string;
  date: string;
  mode: string;
  triggered: boolean;
  triggerId: string | null;
}

export interface ExecutionLogRow {
  triggerId: string;
  transition: string;
  date: string;
}

export interface DeadLetterSeen {
  subscription: string;
  data: string;
}

export interface AlertSeen {
  atMs: number;
  title: string;
  /** The whole alert text. */
  text: string;
  gameDate: string | null;
}

export interface LogLineSeen {
  atMs: number;
  function: string;
  severity: string;
  message: string;
  /** The whole line as JSON text. */
  text: string;
}

/** A scheduled fault as it was applied: when it really started and ended, and what it did. */
export interface AppliedFault {
  window: FaultWindow;
  injectedAtMs: number;
  healedAtMs: number | null;
  detail: string;
  /** Crashes: the process(es) were killed. */
  killed?: boolean;
  /** Crashes: the deployed function killed (its orchestrated transition, or a scheduled job). */
  function?: string;
  /** Crashes: the transition the killed function orchestrates (none for the scheduled jobs, which publish any). */
  transition?: string;
  /** crash-before-publish: the trigger seen pending when the kill came. */
  pendingTrigger?: string;
}

export interface ChaosObservations {
  dates: string[];
  transitions: string[];
  completions: PublishedCompletion[];
  invalid: InvalidMessage[];
  /** Quarantine document ids that exist at the end. */
  quarantined: string[];
  deliveries: TriggerDelivery[];
  latches: LatchSeen[];
  completionRows: CompletionRow[];
  statusRows: StatusRow[];
  executionLogRows: ExecutionLogRow[];
  deadLetters: DeadLetterSeen[];
  alerts: AlertSeen[];
  /** Function log lines at WARNING and above, and the alerter's "suppressed" lines. */
  logs: LogLineSeen[];
  faults: AppliedFault[];
  /** The recovery wait ran out before everything converged. */
  timedOut: boolean;
}

export interface InvariantResult {
  name: string;
  ok: boolean;
  detail: string;
}

export const INVARIANT_NAMES = [
  "completions recorded exactly once",
  "one trigger per transition and date",
  "dead letters and quarantine",
  "outbox drained, tables agree with Firestore",
  "faults recovered or alerted",
] as const;

const key = (...parts: string[]) => parts.join("|");
const first = (items: string[], n = 5) => (items.length <= n ? items.join("; ") : `${items.slice(0, n).join("; ")}; ... (${items.length} in all)`);

export function checkCompletions(o: ChaosObservations): InvariantResult {
  const problems: string[] = [];
  const entries = new Map<string, string>();
  for (const l of o.latches) for (const e of l.entries) entries.set(key(l.transition, l.date, e.processor), e.executionId);
  const rowCount = new Map<string, number>();
  for (const r of o.completionRows) rowCount.set(key(r.transition, r.date, r.processor, r.executionId), (rowCount.get(key(r.transition, r.date, r.processor, r.executionId)) ?? 0) + 1);
  let lostFirestore = 0;
  let lostBigQuery = 0;
  let duplicated = 0;
  const published = new Set<string>();
  for (const c of o.completions) {
    const k = key(c.transition, c.date, c.processor, c.executionId);
    published.add(k);
    const stored = entries.get(key(c.transition, c.date, c.processor));
    if (stored !== c.executionId) {
      lostFirestore += 1;
      problems.push(`${c.transition} ${c.date} ${c.processor} (${c.executionId}): Firestore holds ${stored ?? "nothing"}`);
    }
    const n = rowCount.get(k) ?? 0;
    if (n === 0) lostBigQuery += 1;
    if (n > 1) duplicated += 1;
    if (n !== 1) {
      const rows = o.completionRows.filter((r) => key(r.transition, r.date, r.processor, r.executionId) === k);
      const evidence = rows.map((r) => `message ${r.messageId ?? "?"} at ${r.recordedAt ?? "?"}`).join(", ");
      problems.push(`${c.transition} ${c.date} ${c.processor} (${c.executionId}): ${n} phase_completions rows${n > 1 ? ` (${evidence})` : ""}`);
    }
  }
  const strays = [...rowCount.keys()].filter((k) => !published.has(k));
  for (const s of strays) problems.push(`phase_completions row nobody published: ${s}`);
  const detail =
    `${o.completions.length} valid completions published (${o.completions.reduce((n, c) => n + c.messageIds.length - 1, 0)} duplicate copies): ` +
    `${lostFirestore} missing in Firestore, ${lostBigQuery} missing in phase_completions, ${duplicated} with more than one row, ${strays.length} stray rows` +
    (problems.length > 0 ? `. ${first(problems)}` : "; 0 lost");
  return { name: INVARIANT_NAMES[0], ok: problems.length === 0 && o.completions.length > 0, detail };
}

/** Completions missing in Firestore or in phase_completions: work a later redelivery may still do. */
export function lostCompletions(o: Pick<ChaosObservations, "completions" | "latches" | "completionRows">): number {
  const entries = new Set(o.latches.flatMap((l) => l.entries.map((e) => key(l.transition, l.date, e.processor, e.executionId))));
  const rows = new Set(o.completionRows.map((r) => key(r.transition, r.date, r.processor, r.executionId)));
  return o.completions.filter((c) => {
    const k = key(c.transition, c.date, c.processor, c.executionId);
    return !entries.has(k) || !rows.has(k);
  }).length;
}

/** Crashes that happened (processes killed), in time order. */
const crashesOf = (o: ChaosObservations) => o.faults.filter((f) => f.window.dependency === "instance" && f.killed === true).sort((a, b) => a.injectedAtMs - b.injectedAtMs);

export function extraDeliveries(o: Pick<ChaosObservations, "deliveries">): TriggerDelivery[] {
  const firstByTrigger = new Map<string, string>();
  const extras: TriggerDelivery[] = [];
  const seen = new Set<string>();
  for (const d of [...o.deliveries].sort((a, b) => a.atMs - b.atMs)) {
    if (seen.has(d.messageId)) continue;
    seen.add(d.messageId);
    const k = key(d.transition, d.date);
    if (!firstByTrigger.has(k)) firstByTrigger.set(k, d.messageId);
    else extras.push(d);
  }
  return extras;
}

export function checkTriggers(o: ChaosObservations): InvariantResult {
  const problems: string[] = [];
  for (const date of o.dates) {
    for (const t of o.transitions) {
      const ds = o.deliveries.filter((d) => d.transition === t && d.date === date);
      const ids = new Set(ds.map((d) => d.triggerId));
      if (ids.size !== 1) problems.push(`${t} ${date}: ${ids.size} trigger ids${ids.size > 1 ? ` (${[...ids].join(", ")})` : ""}`);
    }
  }
  const crashes = crashesOf(o);
  const extras = extraDeliveries(o);
  // Each duplicate must be explained by its own crash: of a function that could publish that trigger
  // (its orchestrator, or a scheduled job), after the trigger was latched and before the duplicate.
  const used = new Set<AppliedFault>();
  const explained: string[] = [];
  for (const e of extras) {
    const latchedAt = o.latches.find((l) => l.trigger?.triggerId === e.triggerId)?.trigger?.decidedAtMs ?? Number.NEGATIVE_INFINITY;
    const cause = crashes.find(
      (c) => !used.has(c) && (c.transition === undefined || c.transition === e.transition) && c.injectedAtMs >= latchedAt - 1000 && c.injectedAtMs <= e.atMs,
    );
    const published = e.publishedAtMs === undefined ? "" : `, published at ${(e.publishedAtMs / 1000).toFixed(1)} s`;
    const original = o.deliveries.find((d) => d.triggerId === e.triggerId && d.messageId !== e.messageId);
    const firstAt =
      original === undefined ? "" : ` (first: message ${original.messageId}${original.publishedAtMs === undefined ? "" : ` published at ${(original.publishedAtMs / 1000).toFixed(1)} s`})`;
    if (cause === undefined) {
      problems.push(`duplicate delivery of ${e.triggerId} (message ${e.messageId}${published}) at ${(e.atMs / 1000).toFixed(1)} s${firstAt}: no crash of a function that publishes it between its latch and the duplicate`);
    } else {
      used.add(cause);
      explained.push(`${e.triggerId} after ${cause.window.fault} ${cause.window.target} at ${(cause.injectedAtMs / 1000).toFixed(1)} s`);
    }
  }
  const total = new Set(o.deliveries.map((d) => d.messageId)).size;
  const detail =
    `${o.dates.length * o.transitions.length} transition-dates, ${total} trigger messages delivered, ${extras.length} duplicate(s), ${crashes.length} crash(es)` +
    (explained.length > 0 ? ` [after a crash: ${first(explained)}]` : "") +
    (problems.length > 0 ? `. ${first(problems)}` : "");
  return { name: INVARIANT_NAMES[1], ok: problems.length === 0, detail };
}

/** Was the alert about this bad message raised (sent, or held back by de-duplication, or logged as undeliverable)? */
export function alertedAbout(m: InvalidMessage, o: Pick<ChaosObservations, "alerts" | "logs">): string | undefined {
  const needles = [m.quarantineId, ...(m.processorName === undefined ? [] : [m.processorName])];
  const alert = o.alerts.find((a) => needles.some((n) => a.text.includes(n)));
  if (alert !== undefined) return `alert at ${(alert.atMs / 1000).toFixed(1)} s`;
  const line = o.logs.find((l) => /^alert (suppressed|not delivered)/.test(l.message) && needles.some((n) => l.text.includes(n)));
  if (line !== undefined) return `${line.function} logged "${line.message.slice(0, 60)}"`;
  return undefined;
}

export function checkQuarantine(o: ChaosObservations): InvariantResult {
  const problems: string[] = [];
  let validDead = 0;
  for (const d of o.deadLetters) {
    let parsed: { processor_name?: unknown; execution_id?: unknown } | undefined;
    try {
      parsed = JSON.parse(d.data) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    const valid = parsed !== undefined && o.completions.some((c) => c.executionId === parsed!.execution_id);
    if (valid) validDead += 1;
    problems.push(`${valid ? "valid" : "bad"} message dead-lettered on ${d.subscription}: ${d.data.slice(0, 100)}`);
  }
  const quarantined = new Set(o.quarantined);
  let notQuarantined = 0;
  let notAlerted = 0;
  for (const m of o.invalid) {
    if (!quarantined.has(m.quarantineId)) {
      notQuarantined += 1;
      problems.push(`${m.kind} message ${m.messageId} on ${m.transition} not quarantined`);
    }
    if (alertedAbout(m, o) === undefined) {
      notAlerted += 1;
      problems.push(`${m.kind} message ${m.messageId} on ${m.transition} not alerted`);
    }
  }
  const detail =
    `${o.deadLetters.length} dead letter(s) (${validDead} valid); ${o.invalid.length} malformed or unknown-processor message(s): ` +
    `${o.invalid.length - notQuarantined} quarantined, ${o.invalid.length - notAlerted} alerted` +
    (problems.length > 0 ? `. ${first(problems)}` : "");
  return { name: INVARIANT_NAMES[2], ok: problems.length === 0, detail };
}

export function checkTables(o: ChaosObservations): InvariantResult {
  const problems: string[] = [];
  const pending = o.latches.filter((l) => l.trigger?.state === "pending");
  for (const l of pending) problems.push(`trigger ${l.trigger!.triggerId} still pending`);
  const latched = o.latches.filter((l) => l.trigger !== null);
  for (const date of o.dates) {
    for (const t of o.transitions) {
      if (!latched.some((l) => l.transition === t && l.date === date)) problems.push(`${t} ${date}: no trigger latched in Firestore`);
    }
  }
  for (const l of latched) {
    const rows = o.statusRows.filter((r) => r.transition === l.transition && r.date === l.date && r.mode === l.mode);
    if (rows.length !== 1) problems.push(`${l.docId}: ${rows.length} phase_completion_status rows`);
    else if (!rows[0]!.triggered || rows[0]!.triggerId !== l.trigger!.triggerId) {
      problems.push(`${l.docId}: phase_completion_status says triggered=${rows[0]!.triggered} trigger_id=${rows[0]!.triggerId}, Firestore ${l.trigger!.triggerId}`);
    }
    const logs = o.executionLogRows.filter((r) => r.triggerId === l.trigger!.triggerId);
    if (logs.length !== 1) problems.push(`${l.trigger!.triggerId}: ${logs.length} phase_execution_log rows`);
    else if (logs[0]!.transition !== l.transition || logs[0]!.date !== l.date) problems.push(`${l.trigger!.triggerId}: phase_execution_log row for ${logs[0]!.transition} ${logs[0]!.date}`);
  }
  const latchedIds = new Set(latched.map((l) => l.trigger!.triggerId));
  for (const r of o.executionLogRows) if (!latchedIds.has(r.triggerId)) problems.push(`phase_execution_log row ${r.triggerId} has no latch in Firestore`);
  for (const r of o.statusRows) {
    if (!latched.some((l) => l.transition === r.transition && l.date === r.date && l.mode === r.mode)) problems.push(`phase_completion_status row ${r.transition} ${r.date} ${r.mode} has no latch in Firestore`);
  }
  const detail =
    `${latched.length} latches, ${pending.length} pending; ${o.statusRows.length} phase_completion_status rows, ${o.executionLogRows.length} phase_execution_log rows` +
    (problems.length > 0 ? `. ${first(problems)}` : "; all agree with Firestore");
  return { name: INVARIANT_NAMES[3], ok: problems.length === 0, detail };
}

/** What the functions log when a fault of this dependency leaves work undone. */
const UNDONE_PATTERNS: Record<string, RegExp> = {
  firestore: /firestore|transaction|breaker|DEADLINE|UNAVAILABLE|both_stores/i,
  bigquery: /bigquery|insertAll|MERGE|both_stores|rows owed|execution log|aggregate/i,
  pubsub: /publish|pending|pubsub/i,
  slack: /alert not delivered|slack/i,
};

/**
 * What a log line says about a failure: its message, the store it names and its errors, without the
 * fields every line carries. An alerter's own line counts for Slack only.
 */
export function logGist(l: LogLineSeen, dependency: string): string {
  if (dependency !== "slack" && /alert|slack/i.test(l.message)) return "";
  let fields: Record<string, unknown> = {};
  try {
    fields = JSON.parse(l.text) as Record<string, unknown>;
  } catch {
    fields = {};
  }
  const pick = ["store", "event", "firestore_error", "bigquery_error", "error", "error_type", "step", "direction"].map((k) => JSON.stringify(fields[k] ?? ""));
  return `${l.message} ${pick.join(" ")}`;
}

/** How long after a fault healed an alert may still be its consequence, by what the alert says. */
function alertRelation(title: string): { tailMs: number; dependencies: string[] | "any" } | "input" {
  if (/^Message quarantined|^Unknown processor/.test(title)) return "input";
  if (/Both Firestore and BigQuery/.test(title)) return { tailMs: 90_000, dependencies: ["firestore", "bigquery"] };
  if (/could not be published/.test(title)) return { tailMs: 90_000, dependencies: ["pubsub", "instance", "firestore"] };
  // A stall or a degraded trigger is noticed long after what held the phase back.
  if (/stalled|triggered without every processor/.test(title)) return { tailMs: Number.POSITIVE_INFINITY, dependencies: "any" };
  if (/Sweeper|[Rr]econcil/.test(title)) return { tailMs: 180_000, dependencies: ["firestore", "bigquery", "pubsub", "instance"] };
  return { tailMs: 90_000, dependencies: "any" };
}

export function matchAlert(a: AlertSeen, faults: readonly AppliedFault[], invalid: readonly InvalidMessage[]): { input?: InvalidMessage; faults: AppliedFault[] } {
  const relation = alertRelation(a.title);
  if (relation === "input") {
    const m = invalid.find((x) => a.text.includes(x.quarantineId) || (x.processorName !== undefined && a.text.includes(x.processorName)));
    return m === undefined ? { faults: [] } : { input: m, faults: [] };
  }
  const matched = faults.filter((f) => {
    if (relation.dependencies !== "any" && !relation.dependencies.includes(f.window.dependency)) return false;
    const healed = f.healedAtMs ?? Number.POSITIVE_INFINITY;
    return f.injectedAtMs <= a.atMs && a.atMs <= healed + relation.tailMs;
  });
  return { faults: matched };
}

/** Which of invariants 1-4 held at the end (the work each kind of fault can leave undone). */
export interface EndState {
  completions: boolean;
  triggers: boolean;
  quarantine: boolean;
  tables: boolean;
}

/** A fault's work is recovered when the invariants covering what it can break hold at the end. */
export function recoveredFrom(dependency: string, end: EndState): boolean {
  switch (dependency) {
    case "firestore":
    case "bigquery":
      return end.completions && end.tables;
    case "pubsub":
      return end.triggers && end.tables;
    case "slack":
      // An alert Slack refused is logged at ERROR (the log-based alert's route); the bad messages' alerts are invariant 3.
      return end.quarantine;
    default:
      return end.completions && end.triggers && end.tables;
  }
}

export function checkFaults(o: ChaosObservations, end: EndState): InvariantResult {
  const problems: string[] = [];
  const lines: string[] = [];
  const alertsOf = new Map<AppliedFault, AlertSeen[]>();
  const unmatched: AlertSeen[] = [];
  for (const a of o.alerts) {
    const m = matchAlert(a, o.faults, o.invalid);
    if (m.input === undefined && m.faults.length === 0) unmatched.push(a);
    for (const f of m.faults) alertsOf.set(f, [...(alertsOf.get(f) ?? []), a]);
  }
  let undoneCount = 0;
  for (const f of o.faults) {
    const healed = f.healedAtMs ?? Number.POSITIVE_INFINITY;
    const name = `${f.window.fault} ${f.window.target} ${(f.injectedAtMs / 1000).toFixed(1)}-${f.healedAtMs === null ? "never" : (f.healedAtMs / 1000).toFixed(1)} s`;
    if (f.healedAtMs === null) problems.push(`${name}: never healed`);
    let undone: string | undefined;
    if (f.window.dependency === "instance") {
      undone = f.killed === true ? (f.pendingTrigger !== undefined ? `killed with ${f.pendingTrigger} pending` : "killed") : undefined;
    } else {
      const pattern = UNDONE_PATTERNS[f.window.dependency]!;
      const line = o.logs.find((l) => l.atMs >= f.injectedAtMs && l.atMs <= healed + 10_000 && pattern.test(logGist(l, f.window.dependency)));
      if (line !== undefined) undone = `${line.function} ${line.severity} "${line.message.slice(0, 80)}"`;
    }
    if (undone === undefined) continue;
    undoneCount += 1;
    const alerts = alertsOf.get(f) ?? [];
    const recovered = recoveredFrom(f.window.dependency, end);
    const how = [recovered ? "recovered by retry/redelivery" : "", alerts.length > 0 ? `${alerts.length} alert(s): ${first(alerts.map((a) => a.title.slice(0, 60)), 2)}` : ""].filter((s) => s !== "").join("; ");
    lines.push(`${name}: left work undone (${undone}); ${how === "" ? "NEITHER recovered NOR alerted" : how}`);
    if (how === "") problems.push(`${name}: left work undone and was neither recovered nor alerted`);
  }
  const detail =
    `${o.faults.length} fault(s), ${undoneCount} left work undone at some moment; ${o.alerts.length} alert(s), ${unmatched.length} matching no fault or input` +
    (unmatched.length > 0 ? ` [unmatched: ${first(unmatched.map((a) => `${(a.atMs / 1000).toFixed(1)} s ${a.title.slice(0, 80)}`), 3)}]` : "") +
    (problems.length > 0 ? `. ${first(problems)}` : "") +
    (lines.length > 0 ? `\n      ${lines.join("\n      ")}` : "");
  return { name: INVARIANT_NAMES[4], ok: problems.length === 0, detail };
}

export function checkInvariants(o: ChaosObservations): InvariantResult[] {
  const completions = checkCompletions(o);
  const triggers = checkTriggers(o);
  const quarantine = checkQuarantine(o);
  const tables = checkTables(o);
  const end: EndState = { completions: completions.ok && !o.timedOut, triggers: triggers.ok && !o.timedOut, quarantine: quarantine.ok, tables: tables.ok && !o.timedOut };
  const results = [completions, triggers, quarantine, tables, checkFaults(o, end)];
  if (o.timedOut) results[3] = { ...tables, ok: false, detail: `the recovery wait ran out before the stores converged; ${tables.detail}` };
  return results;
}

/** Alerts that match neither a fault nor a bad input message. */
export function unmatchedAlerts(o: ChaosObservations): AlertSeen[] {
  return o.alerts.filter((a) => {
    const m = matchAlert(a, o.faults, o.invalid);
    return m.input === undefined && m.faults.length === 0;
  });
}

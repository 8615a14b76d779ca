// The readable report: plain-text tables with the numbers and their ratios to the floors. Pure.
import type { BenchReport } from "./report.ts";
import type { Summary } from "./stats.ts";
import { COLD_VARIANTS } from "./cold-start.ts";

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

const ms = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const x = (r: number | null | undefined) => (r === null || r === undefined || !Number.isFinite(r) ? "-" : `${r.toFixed(1)}x`);
const rss = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toFixed(0));
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MiB`;
const n2 = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
const usd = (v: number) => `$${v.toFixed(6)}`;
const pctOf = (share: number) => `${(share * 100).toFixed(0)}%`;

function pct(label: string, s: Summary, floor?: Summary): (string | number)[] {
  return [label, s.n, ms(s.p50), ms(s.p95), ms(s.p99), floor ? x(s.p50 / floor.p50) : "", floor ? x(s.p95 / floor.p95) : "", floor ? x(s.p99 / floor.p99) : ""];
}

export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  out.push(`Benchmarks — ${r.startedAt} — ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, Node ${r.machine.node}`);
  out.push(`load average at start ${r.machine.loadAverageStart.map((v) => v.toFixed(1)).join(" ")}, at end ${r.machine.loadAverageEnd.map((v) => v.toFixed(1)).join(" ")}; took ${(r.durationMs / 1000).toFixed(0)} s`);
  if (r.options.quick) out.push("--quick: tiny configuration, the numbers are not meaningful");
  if (r.targets) {
    out.push("", "Targets");
    out.push(
      table(
        ["target", "verdict", "figures"],
        r.targets.map((t) => [
          t.id,
          t.met === null ? "not run" : t.met ? "met" : "MISSED",
          Object.entries(t.figures)
            .map(([k, v]) => `${k} ${typeof v === "number" ? n2(Math.round(v * 100) / 100) : String(v)}`)
            .join(", "),
        ]),
      ),
    );
  }

  const c = r.coldStart;
  if (c) {
    out.push("", "1. Cold start (median of runs; ms from process spawn; CPU time and RSS at the first response; ratios = first response / the empty function's and bare Node's; the floors and the first function's variants are sampled in turn)");
    out.push(
      table(
        ["floor", "runs", "listening", "first response", "CPU ms", "RSS MiB"],
        [
          ["node -e 0 (exit)", c.floors.nodeExit.runs, ms(c.floors.nodeExit.ms), "", "", ""],
          ["bare node:http server", c.floors.bareNode.runs, ms(c.floors.bareNode.loadMs), ms(c.floors.bareNode.firstResponseMs), ms(c.floors.bareNode.cpuMs), rss(c.floors.bareNode.rssMiB)],
          ["functions framework, empty function", c.floors.frameworkOnly.runs, ms(c.floors.frameworkOnly.loadMs), ms(c.floors.frameworkOnly.firstResponseMs), ms(c.floors.frameworkOnly.cpuMs), rss(c.floors.frameworkOnly.rssMiB)],
          ["framework, one Firestore transaction", c.floors.firestoreTransactionOnly.runs, ms(c.floors.firestoreTransactionOnly.loadMs), ms(c.floors.firestoreTransactionOnly.firstResponseMs), ms(c.floors.firestoreTransactionOnly.cpuMs), rss(c.floors.firestoreTransactionOnly.rssMiB)],
        ],
      ),
    );
    const rows: (string | number)[][] = [];
    for (const f of c.functions) {
      for (const v of COLD_VARIANTS) {
        const m = f.variants[v];
        if (!m) continue;
        rows.push([f.name, v, v === "bundleMinified" ? mb(f.minifiedBundleBytes) : v === "unbundled" ? mb(f.unbundledOwnCodeBytes) : mb(f.bundleBytes), ms(m.loadMs), ms(m.firstRequestMs), ms(m.firstResponseMs), ms(m.warmRequestMs), ms(m.cpuMs), rss(m.rssMiB), x(f.vsFramework[v]), x(f.vsBareNode[v])]);
      }
    }
    out.push("", table(["function", "variant", "code size", "listening", "1st request", "1st response", "warm request", "CPU ms", "RSS MiB", "vs framework", "vs bare node"], rows));
    out.push("(orchestrators' first request is a real completion; scheduled functions' is an OPTIONS request. unbundled code size = our code only)");
  }

  const l = r.latency;
  if (l) {
    out.push("", `2. Event latency (${l.transition}, ms; ratios to the floor's same percentile)`);
    const f = l.floor.transactionPlusPublish;
    out.push(
      table(
        ["measure", "n", "p50", "p95", "p99", "p50/floor", "p95/floor", "p99/floor"],
        [
          pct("floor: bare transaction", l.floor.transaction),
          pct("floor: bare publish", l.floor.publish),
          pct("FLOOR: bare transaction + publish", f),
          pct("bare BigQuery insertAll + MERGE (fake)", l.floor.bigqueryInsertPlusMerge),
          pct("handler, every completion", l.handler.all, f),
          pct("handler, recording only", l.handler.recordOnly, f),
          pct("handler, completion that triggers", l.handler.triggering, f),
          pct("handler, server side", l.handler.serverSide, f),
          pct("e2e: last publish -> trigger arrives", l.endToEnd.lastPublishToTrigger, f),
          pct("e2e floor: push relay (no work)", l.endToEnd.relayFloor),
          pct("e2e vs relay floor", l.endToEnd.lastPublishToTrigger, l.endToEnd.relayFloor),
          pct("handler time of the last completion", l.endToEnd.lastHandler),
        ],
      ),
    );
    out.push(`(push deliveries during the end-to-end runs: ${l.endToEnd.pushDeliveries} for ${l.endToEnd.completionsPublished} completions published)`);
    if (l.handlerRuns) {
      out.push("", "handler by BigQuery DML duration (p50 ms; ratio = p50 / the floor's p50; mean ms per completion awaiting each kind of call)");
      const runs = [l.handlerRuns.realisticDml, l.handlerRuns.instantDml];
      out.push(
        table(
          ["DML ms", "completion", "n", "p50", "p95", "vs floor", "handler mean", "FS tx (n)", "publish", "BQ insertAll", "BQ DML (n)", "other"],
          runs.flatMap((run) =>
            (["recordOnly", "triggering"] as const).map((k) => {
              const s = run[k];
              const b = run.breakdown[k];
              return [
                run.dmlDurationMs,
                k === "recordOnly" ? "recording" : "triggering",
                s.n,
                ms(s.p50),
                ms(s.p95),
                x(k === "recordOnly" ? run.recordOnlyVsFloor : run.triggeringVsFloor),
                ms(b.handlerMs),
                `${ms(b.firestoreTransactionMs)} (${n2(b.firestoreTransactions)})`,
                ms(b.pubsubPublishMs),
                ms(b.bigqueryInsertMs),
                `${ms(b.bigqueryDmlMs)} (${n2(b.dmlStatements)})`,
                ms(b.otherMs),
              ];
            }),
          ),
        ),
      );
    }
  }

  if (r.contention) {
    out.push("", "3. Contention (all at once at one instance; latency = burst start to each completion's 2xx)");
    out.push(
      table(
        ["burst", "compl.", "wall ms", "per s", "p50", "p95", "p99", "non-2xx", "redeliv.", "undeliv.", "tx retries", "retries/compl.", "one trigger/date", "floor wall ms", "floor retries", "floor serialized ms"],
        r.contention.map((c) => [
          c.kind === "one_date" ? `N=${c.size}, one date` : `M=${c.size} dates x 5`,
          c.completions,
          ms(c.wallMs),
          c.throughputPerSecond.toFixed(1),
          ms(c.latency.p50),
          ms(c.latency.p95),
          ms(c.latency.p99),
          c.non2xx,
          c.redeliveries,
          c.undelivered,
          c.transactionRetries,
          c.transactionRetriesPerCompletion.toFixed(2),
          `${c.exactlyOneTriggerPerDate ? "yes" : "NO"} (${c.triggers.datesWithExactlyOne}/${c.dates}, ${c.triggers.messagesReceived} msgs, ${c.triggers.publishes} publishes)`,
          c.floor ? `${ms(c.floor.wallMs)}${c.floor.cutOff ? " (cut off)" : ""}` : "",
          c.floor ? c.floor.attempts - c.floor.committed : "",
          c.floor ? ms(c.floor.serializedWallMs) : "",
        ]),
      ),
    );
    for (const c of r.contention) {
      if (c.errorMessages.length > 0) out.push(`${c.kind} ${c.size}: ERROR lines: ${c.errorMessages.join(" | ")}`);
    }
  }

  const o = r.operations;
  if (o) {
    out.push("", "4. Cloud operations (counted by instrumentation), per completion / per triggered phase, vs the existing design");
    out.push(
      table(
        ["transition", "compl.", "FS reads", "FS writes", "BQ rows", "BQ DML", "publishes", "legacy FS r/w", "legacy BQ rows/DML", "dup: FS r/w, BQ rows/DML"],
        o.transitions.flatMap((t) => [
          [`${t.transition} per completion`, t.completions, n2(t.perCompletion.firestoreReads), n2(t.perCompletion.firestoreWrites), n2(t.perCompletion.bigqueryInsertRows), n2(t.perCompletion.bigqueryDml), n2(t.perCompletion.pubsubPublishes), "1 / 2", "1 / 1", `${n2(t.perDuplicate.firestoreReads)}/${n2(t.perDuplicate.firestoreWrites)}, ${n2(t.perDuplicate.bigqueryInsertRows)}/${n2(t.perDuplicate.bigqueryDml)}`],
          [`${t.transition} per phase`, "", n2(t.perTriggeredPhase.firestoreReads), n2(t.perTriggeredPhase.firestoreWrites), n2(t.perTriggeredPhase.bigqueryInsertRows), n2(t.perTriggeredPhase.bigqueryDml), n2(t.perTriggeredPhase.pubsubPublishes), `${t.legacyPerTriggeredPhase.firestoreReads} / ${t.legacyPerTriggeredPhase.firestoreWrites}`, `${t.legacyPerTriggeredPhase.bigqueryInsertRows} / ${t.legacyPerTriggeredPhase.bigqueryDml}`, ""],
        ]),
      ),
    );
    const g = o.gameDay;
    out.push(
      "",
      `game day (${g.completions} completions, ${g.triggers} triggers): ours ${usd(g.oursCostUsd)} (every message delivered twice: ${usd(g.oursWithEveryMessageDuplicatedCostUsd)}), existing design ${usd(g.legacyCostUsd)}; list prices recorded ${o.pricesRecordedOn} (bench/cost-model.ts)`,
    );
    if (g.dmlPerTriggeredPhase !== undefined) {
      out.push(
        `DML executed by the BigQuery fake: ${n2(g.dmlPerCompletion)} per completion, ${n2(g.dmlPerTriggeredPhase)} per triggered phase; ` +
          `cost before (one MERGE per completion) ${usd(g.beforeCostUsd)}, MERGE ${pctOf(g.beforeCostShares.bigqueryDml)} of it; now ${usd(g.oursCostUsd)}, MERGE ${pctOf(g.oursCostShares.bigqueryDml)}, ` +
          `Firestore ${pctOf(g.oursCostShares.firestoreReads + g.oursCostShares.firestoreWrites)}, insertAll ${pctOf(g.oursCostShares.bigqueryInsertRows)}, Pub/Sub ${pctOf(g.oursCostShares.pubsubPublishes)}`,
      );
    }
  }
  const b = r.bursts;
  if (b) {
    out.push(
      "",
      `5. Bursts across instances (local stack, stack ${b.stack}: ${b.instances} instances per function, ${b.concurrencyPerInstance} request(s) at once each; time = first publish to the last trigger)`,
    );
    out.push(
      table(
        ["burst", "compl.", "wall ms", "serialized floor ms", "vs floor", "trigger p50", "trigger max", "pushes", "non-2xx", "exactly one", "duplicates", "missing", "dead letters", "max in flight/inst.", "cut off"],
        b.runs.map((run) => [
          run.kind === "one_date" ? "one date, every phase" : `backfill ${run.dates} dates x every phase`,
          run.completions,
          ms(run.wallMs),
          ms(run.serializedFloorMs),
          x(run.vsSerializedFloor),
          ms(run.triggerLatency.p50),
          ms(run.triggerLatency.max),
          run.pushesAnswered,
          run.pushesNon2xx,
          `${run.exactlyOne}/${run.expectedTriggers}`,
          run.duplicates.length,
          run.missing.length,
          run.deadLettered,
          run.maxInFlightPerInstance,
          run.cutOff ? "YES" : "no",
        ]),
      ),
    );
    out.push(`(serialized floor: after a warm-up date, ${b.serialized.completions} completions posted one after another, mean ${ms(b.serialized.perCompletion.mean)} ms each (p50 ${ms(b.serialized.perCompletion.p50)}), times the burst's count)`);
    for (const run of b.runs) {
      out.push(`${run.kind}: requests per instance ${Object.entries(run.requestsPerInstance).map(([f, n]) => `${f} ${n.join("/")}`).join(", ")}`);
      for (const d of run.duplicates) out.push(`${run.kind}: DUPLICATE trigger ${d.transition} ${d.gameDate}: ${d.messages} messages, ${d.triggerIds} trigger ids`);
      if (run.missing.length > 0) out.push(`${run.kind}: MISSING triggers: ${run.missing.map((m) => `${m.transition} ${m.gameDate}`).join(", ")}`);
      if (run.errorMessages.length > 0) out.push(`${run.kind}: ERROR lines: ${run.errorMessages.join(" | ")}`);
      if (run.warnings.length > 0) out.push(`${run.kind}: most frequent WARNING lines: ${run.warnings.map((w) => `${w.count}x ${w.message}`).join(" | ")}`);
    }
  }

  return out.join("\n");
}

// Smoke test of `npm run bench`: the tiny configuration runs every section against its own emulators and
// prints one valid JSON document. No timing assertions: the numbers belong in docs/BENCHMARKS.md.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchReport } from "../../bench/report.ts";
import { missingJsonPaths } from "../../bench/targets.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);

describe("npm run bench -- --quick --json (smoke)", function () {
  this.timeout(600_000);

  it("runs every section in the tiny configuration and prints one JSON document", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick", "--json"], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    const report = JSON.parse(stdout) as BenchReport;

    assert.equal(report.options.quick, true);
    assert.deepEqual(missingJsonPaths(report), [], "every figure the targets table is made of is in the JSON");
    assert.deepEqual(report.targets!.map((t) => t.id), ["cold_start", "dml_per_triggered_phase", "bursts_across_instances", "handler_latency"]);
    assert.ok(report.machine.cpus >= 1);

    const cold = report.coldStart!;
    assert.equal(cold.functions.length, 1);
    assert.ok(cold.functions[0]!.bundleBytes > 0);
    assert.ok(cold.functions[0]!.variants.bundle!.firstResponseMs >= cold.functions[0]!.variants.bundle!.loadMs);
    assert.ok(cold.floors.bareNode.firstResponseMs > 0);

    const latency = report.latency!;
    assert.equal(latency.handler.all.n, 2 * 5, "two measured dates of five completions");
    assert.equal(latency.handler.triggering.n, 2, "one triggering completion per date");
    assert.equal(latency.endToEnd.lastPublishToTrigger.n, 1);
    assert.equal(latency.errors, 0);
    const runs = latency.handlerRuns;
    assert.deepEqual([runs.realisticDml.dmlDurationMs, runs.instantDml.dmlDurationMs], [1000, 0]);
    assert.equal(runs.realisticDml.breakdown.triggering.dmlStatements, 1, "the triggering completion runs the MERGE");
    assert.equal(runs.realisticDml.breakdown.recordOnly.dmlStatements, 0, "a recording completion runs no DML");

    const ops = report.operations!;
    assert.equal(ops.transitions.length, 4);
    for (const t of ops.transitions) {
      assert.equal(t.triggers, 1, `${t.transition}: one trigger`);
      assert.equal(t.perTriggeredPhase.pubsubPublishes, 1, `${t.transition}: one publish per triggered phase`);
      assert.ok(t.perTriggeredPhase.firestoreWrites >= t.completions, `${t.transition}: every completion written`);
      assert.equal(t.perDuplicate.firestoreWrites, 0, `${t.transition}: a redelivered duplicate writes nothing to Firestore`);
      // Counted as the BigQuery fake executed them: the status MERGE runs when the trigger latches, not per completion.
      assert.equal(t.perTriggeredPhase.bigqueryDml, 1, `${t.transition}: one DML statement per triggered phase`);
      assert.equal(t.perDuplicate.bigqueryDml, 0, `${t.transition}: a redelivered duplicate runs no DML`);
    }
    assert.ok(ops.gameDay.oursCostUsd > 0 && ops.gameDay.legacyCostUsd > 0);

    const contention = report.contention!;
    assert.deepEqual(
      contention.map((c) => [c.kind, c.size]),
      [
        ["one_date", 3],
        ["many_dates", 2],
      ],
    );
    for (const c of contention) {
      assert.equal(c.undelivered, 0, `${c.kind} ${c.size}: every completion acknowledged`);
      assert.equal(c.exactlyOneTriggerPerDate, true, `${c.kind} ${c.size}: ${JSON.stringify(c.triggers)}`);
    }

    // Bursts across instances (local stack): every (transition, date) triggered exactly once, nothing
    // dead-lettered, and no instance ever held more requests than the stack's concurrency.
    const bursts = report.bursts!;
    assert.equal(bursts.instances, 2);
    assert.deepEqual(bursts.runs.map((r) => [r.kind, r.dates, r.completions]), [
      ["one_date", 1, 16],
      ["backfill", 2, 32],
    ]);
    for (const r of bursts.runs) {
      const context = JSON.stringify({ duplicates: r.duplicates, missing: r.missing, dead: r.deadLettered, errors: r.errorMessages });
      assert.equal(r.exactlyOne, r.expectedTriggers, context);
      assert.deepEqual(r.duplicates, [], context);
      assert.equal(r.deadLettered, 0, context);
      assert.ok(r.maxInFlightPerInstance <= bursts.concurrencyPerInstance, `${r.maxInFlightPerInstance} in flight at one instance`);
      for (const [fn, perInstance] of Object.entries(r.requestsPerInstance)) assert.equal(perInstance.length, 2, fn);
    }
  });
});

// Each deployed function's bundle carries only its own job's code: the scheduled jobs' modules never
// reach an orchestrator's bundle and the orchestrator's never reach a scheduled job's, so a refactor
// cannot silently make every function carry (and redeploy for) the others' code. Judged from the
// bundler's own input list; the archives come from the per-process build cache when another suite
// of the run built them already.
import assert from "node:assert/strict";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { buildArchives } from "../../infra/bundle/build-all.ts";
import type { FunctionArchive } from "../../infra/bundle/function-archive.ts";
import { functionRegistry } from "../../infra/function-registry.ts";
import { ROOT } from "./helpers.ts";

const specs = functionRegistry(loadPipeline());

/** Modules only the scheduled jobs run, and modules only the orchestrators run. */
const SCHEDULED_ONLY = ["functions/lib/sweeper.ts", "functions/lib/reconciler.ts", "functions/lib/outbox-republisher.ts"];
const ORCHESTRATOR_ONLY = ["functions/lib/orchestrator.ts", "functions/lib/quarantine.ts"];

describe("function bundles stay separated", function () {
  this.timeout(300_000);
  let archives: FunctionArchive[];

  before(async () => {
    archives = await buildArchives(ROOT, specs);
  });

  const of = (kind: "orchestrator" | "scheduled") => {
    const names = new Set(specs.filter((s) => s.kind === kind).map((s) => s.name));
    return archives.filter((a) => names.has(a.name));
  };

  it("the bundler reports inputs as repository paths (the checks below would pass vacuously otherwise)", () => {
    assert.ok(of("orchestrator").length > 0 && of("scheduled").length > 0);
    for (const a of of("orchestrator")) assert.ok(a.inputs.includes("functions/lib/orchestrator.ts"), `${a.name}: ${a.inputs.slice(0, 5).join(", ")}`);
    for (const a of of("scheduled")) assert.ok(a.inputs.some((i) => SCHEDULED_ONLY.includes(i)), a.name);
  });

  it("no orchestrator bundle contains the sweeper, the reconciler or the outbox republisher", () => {
    for (const a of of("orchestrator")) {
      assert.deepEqual(a.inputs.filter((i) => SCHEDULED_ONLY.includes(i)), [], `${a.name} carries scheduled-job code`);
    }
  });

  it("no scheduled bundle contains the orchestrator or the quarantine", () => {
    for (const a of of("scheduled")) {
      assert.deepEqual(a.inputs.filter((i) => ORCHESTRATOR_ONLY.includes(i)), [], `${a.name} carries orchestrator code`);
    }
  });
});

// The adoption import file (tools/adopt/): for every stack, each entry lands at the URN the program
// declares its resource under (parents resolved through the file the way `pulumi import --file`
// resolves them), with the provider's import id of the declared physical name; the data-holding
// resources are always imported, never replaced; functions that cannot be adopted are replaced.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { adoptionPlanFor } from "../../tools/adopt/for-stack.ts";
import { defaultExistingSystem, ExistingSystemConfigError, existingSystemFor } from "../../tools/adopt/existing.ts";
import { DATA_HOLDING_TYPES, planAdoption, TYPES, type DeclaredInput } from "../../tools/adopt/plan.ts";
import { declaredEngineUrn, resolveImportUrns, type Declared } from "../../tools/adopt/urn.ts";
import { planOf, ROOT, stackModel, STACKS } from "./helpers.ts";

const run = promisify(execFile);
const PROJECT = "phase-orchestration";

describe("adopt: the pulumi import file of the existing system", function () {
  this.timeout(600_000);

  for (const stack of STACKS) {
    it(`${stack}: every entry at the program's URN with the declared name's import id; parents resolve; data is imported, never replaced`, async () => {
      const planned = await planOf(stack);
      const { config, pipeline } = stackModel(stack);
      const plan = await adoptionPlanFor(stack, planned);
      const byId = new Map<string, Declared>(planned.resources.filter((r) => r.urn !== undefined).map((r) => [r.urn!, r]));
      const urns = resolveImportUrns(plan.document, stack, PROJECT);

      for (const entry of plan.document.resources) {
        const declared = planned.resources.filter((r) => r.type === entry.type && r.name === entry.logicalName);
        assert.equal(declared.length, 1, `${entry.type} ${entry.logicalName} is declared once`);
        const r = declared[0]!;
        assert.equal(urns.get(entry.name), declaredEngineUrn(r, byId, stack, PROJECT), `${entry.logicalName}: URN`);
        if (entry.component === true) {
          assert.equal(entry.id, undefined);
          assert.equal(r.custom, false, `${entry.logicalName} is a component`);
          continue;
        }
        const p = config.project;
        const expectedId: Record<string, string> = {
          [TYPES.topic]: `projects/${p}/topics/${String(r.inputs.name)}`,
          [TYPES.dataset]: `projects/${p}/datasets/${config.bigquery.datasetId}`,
          [TYPES.table]: `projects/${p}/datasets/${config.bigquery.datasetId}/tables/${String(r.inputs.tableId)}`,
          [TYPES.firestoreDatabase]: `projects/${p}/databases/(default)`,
          [TYPES.function]: `projects/${p}/locations/${config.region}/functions/${String(r.inputs.name)}`,
        };
        assert.equal(entry.id, expectedId[entry.type], `${entry.logicalName}: import id`);
      }

      // Exactly the data-holding resources under existing names: every transition topic, the dataset,
      // its three tables, the (default) database; none of them among the replaced.
      const importedNames = (type: string) => plan.imported.filter((i) => i.type === type).map((i) => i.physicalName).sort();
      const topics = [...new Set(pipeline.transitions.flatMap((t) => [t.inputTopicName, t.outputTopicName]))].sort();
      assert.deepEqual(importedNames(TYPES.topic), topics);
      assert.deepEqual(importedNames(TYPES.dataset), [config.bigquery.datasetId]);
      assert.deepEqual(importedNames(TYPES.table), ["phase_completion_status", "phase_completions", "phase_execution_log"].map((t) => `${config.bigquery.datasetId}.${t}`));
      assert.deepEqual(importedNames(TYPES.firestoreDatabase), ["(default)"]);
      for (const r of plan.replaced) {
        const declared = planned.resources.find((d) => d.name === r.replacedBy);
        assert.ok(declared === undefined || !DATA_HOLDING_TYPES.includes(declared.type), `${r.name} holds data and is replaced`);
      }
      // The old functions are event-triggered by default: replaced (or left alone when ours run under other names), never imported.
      assert.deepEqual(importedNames(TYPES.function), []);
      const oldFunctions = pipeline.transitions.map((t) => t.functionName).sort();
      const accounted = [...plan.replaced.filter((r) => r.what.startsWith("function")).map((r) => r.name), ...plan.leftAlone.map((l) => l.name)].sort();
      assert.deepEqual(accounted, oldFunctions);
      // Each old Eventarc subscription is replaced by our push subscription on the same topic.
      for (const t of pipeline.transitions) {
        const r = plan.replaced.find((x) => x.name === `${t.inputTopicName} -> ${t.functionName}`);
        assert.ok(r, `Eventarc subscription of ${t.functionName}`);
        const push = planned.resources.find((d) => d.name === r.replacedBy)!;
        assert.equal(push.type, TYPES.subscription);
        assert.equal(push.inputs.name, `${t.inputTopicName}-push-sub`);
      }
    });
  }

  describe("existing system (pure)", () => {
    const pipeline = loadPipeline();
    const topic = (name: string, urn: string, parent: string): DeclaredInput => ({ type: TYPES.topic, name, urn, parent, custom: true, inputs: { name } });
    const fn = (name: string): DeclaredInput => ({ type: TYPES.function, name: `${name}-function`, urn: `u:${name}`, parent: "u:root", custom: true, inputs: { name, location: "us-west2" } });
    const root: DeclaredInput = { type: "pulumi:pulumi:Stack", name: "s", urn: "u:root", custom: false, inputs: {} };
    const ctx = (existing = defaultExistingSystem(pipeline, "nba_orchestration")) => ({ stack: "prod", project: "p-1", region: "us-west2", pipeline, existing });

    it("a 2nd gen HTTP function under our name is imported; 1st gen and event-triggered ones are replaced with the reason", () => {
      const existing = existingSystemFor(
        pipeline,
        "nba_orchestration",
        JSON.stringify({
          functions: [
            { name: "phase2-to-phase3-orchestrator", generation: 2, trigger: "http" },
            { name: "phase3-to-phase4-orchestrator", generation: 1 },
            "phase4-to-phase5-orchestrator",
          ],
        }),
      );
      const plan = planAdoption([root, fn("phase2-to-phase3-orchestrator"), fn("phase3-to-phase4-orchestrator"), fn("phase4-to-phase5-orchestrator")], ctx(existing));
      assert.deepEqual(plan.imported.map((i) => [i.physicalName, i.id]), [["phase2-to-phase3-orchestrator", "projects/p-1/locations/us-west2/functions/phase2-to-phase3-orchestrator"]]);
      const reasons = Object.fromEntries(plan.replaced.filter((r) => r.what.startsWith("function")).map((r) => [r.name, r.reason]));
      assert.match(reasons["phase3-to-phase4-orchestrator"]!, /1st gen function cannot become a 2nd gen/);
      assert.match(reasons["phase4-to-phase5-orchestrator"]!, /event-triggered/);
      // Only event-triggered old functions have Eventarc/trigger subscriptions to replace.
      const subs = plan.replaced.filter((r) => !r.what.startsWith("function")).map((r) => r.name);
      assert.deepEqual(subs, ["nba-phase3-analytics-complete -> phase3-to-phase4-orchestrator", "nba-phase4-precompute-complete -> phase4-to-phase5-orchestrator"]);
    });

    it("components become empty parent entries, once, chained; a resource under a name the old system lacks is not imported", () => {
      const comp: DeclaredInput = { type: "orchestration:infra:PipelineTopics", name: "topics", urn: "u:topics", parent: "u:root", custom: false, inputs: {} };
      const plan = planAdoption([root, comp, topic("topics-a", "u:a", "u:topics"), topic("topics-b", "u:b", "u:topics")], ctx({ ...defaultExistingSystem(pipeline, "d"), topics: ["topics-a", "topics-b"].map((n) => n) }));
      assert.deepEqual(plan.document.resources.map((r) => [r.name, r.parent ?? null, r.component ?? false]), [
        ["topics", null, true],
        ["topics-a", "topics", false],
        ["topics-b", "topics", false],
      ]);
      const urns = resolveImportUrns(plan.document, "prod", PROJECT);
      assert.equal(urns.get("topics-a"), "urn:pulumi:prod::phase-orchestration::orchestration:infra:PipelineTopics$gcp:pubsub/topic:Topic::topics-a");
      const none = planAdoption([root, comp, topic("x", "u:x", "u:topics")], ctx());
      assert.deepEqual(none.document.resources, []);
    });

    it("the stack override replaces or extends each list and is validated", () => {
      const e = existingSystemFor(pipeline, "ds", JSON.stringify({ topics: ["t1"], add: { topics: ["t2"], tables: ["extra"] }, datasetId: null }));
      assert.deepEqual(e.topics, ["t1", "t2"]);
      assert.equal(e.datasetId, undefined);
      assert.ok(e.tables.includes("extra") && e.tables.includes("phase_completions"));
      assert.throws(() => existingSystemFor(pipeline, "ds", JSON.stringify({ topix: [] })), ExistingSystemConfigError);
      assert.throws(() => existingSystemFor(pipeline, "ds", "{no"), ExistingSystemConfigError);
    });

    it("the import resolution refuses an unknown parent and two entries at one URN", () => {
      assert.throws(() => resolveImportUrns({ resources: [{ type: TYPES.topic, name: "a", parent: "nope" }] }, "s", PROJECT), /no entry/);
      assert.throws(
        () => resolveImportUrns({ resources: [{ type: TYPES.topic, name: "a", logicalName: "x" }, { type: TYPES.topic, name: "b", logicalName: "x" }] }, "s", PROJECT),
        /ambiguous URN/,
      );
    });
  });

  it("CLI: --help 0, no --stack 2, unknown stack 2", async () => {
    const cli = (args: string[]) =>
      run(process.execPath, ["--import", "tsx", path.join(ROOT, "tools", "adopt.ts"), ...args], { cwd: ROOT }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
    assert.equal((await cli(["--help"])).code, 0);
    assert.equal((await cli([])).code, 2);
    assert.equal((await cli(["--stack", "nosuch"])).code, 2);
  });
});

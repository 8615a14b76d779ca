// The program beyond the three stack files: scheduled functions as one registry entry each, the
// component base's naming and transforms, bad config failing with every key named, and the plan CLI.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import type { ScheduledFunctionDef } from "../../infra/function-registry.ts";
import { StackConfigError } from "../../infra/stack-config.ts";
import { evaluateStack } from "../../tools/plan/evaluate.ts";
import { accountEmail, ofType, one, planOf, ROOT, stackModel, T } from "./helpers.ts";

const run = promisify(execFile);
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;

describe("program variants and the plan tool", function () {
  this.timeout(180_000);

  it("evaluations in one process do not leak into each other: dev again after other stacks declares the same resources", async () => {
    const first = await planOf("dev");
    await planOf("prod");
    const again = await evaluateStack("dev");
    const key = (r: { type: string; name: string; inputs: Obj }) => `${r.type}::${r.name}::${JSON.stringify(r.inputs)}`;
    assert.deepEqual(again.resources.map(key).sort(), first.resources.map(key).sort());
    assert.deepEqual(again.outputs, first.outputs);
  });

  it("a scheduled function is one registry entry: function, Cloud Scheduler job with OIDC, invoker binding, no push subscription", async () => {
    const sweeper: ScheduledFunctionDef = {
      name: "phase-sweeper",
      shortName: "sweeper",
      entry: "test/infra/fixtures/scheduled-probe.ts",
      target: "sweep",
      schedule: "*/10 * * * *",
      publishes: "all_outputs",
    };
    const plan = await evaluateStack("dev", { program: { scheduled: [sweeper] } });
    const { config, pipeline } = stackModel("dev");
    const fn = one(plan, T.function, (i) => i.name === sweeper.name, "sweeper function");
    const env = obj(obj(fn.inputs.serviceConfig).environmentVariables);
    assert.equal(env[RUNTIME_ENV_KEYS.transitionId], undefined);
    assert.equal(obj(fn.inputs.buildConfig).entryPoint, "sweep");
    const job = one(plan, "gcp:cloudscheduler/job:Job", () => true, "scheduler job");
    assert.equal(job.inputs.schedule, sweeper.schedule);
    assert.equal(job.inputs.timeZone, pipeline.timeZone);
    const http = obj(job.inputs.httpTarget);
    const url = obj(obj(plan.outputs.functions)[sweeper.name]).url;
    assert.equal(http.uri, url);
    const oidc = obj(http.oidcToken);
    assert.equal(oidc.audience, url);
    const schedAccount = one(plan, T.account, (i) => i.accountId === "sweeper-sched", "scheduler account");
    assert.equal(oidc.serviceAccountEmail, accountEmail(config.project, schedAccount));
    one(plan, T.runServiceIamMember, (i) => i.name === sweeper.name && i.member === `serviceAccount:${oidc.serviceAccountEmail as string}`, "scheduler invoker");
    const sweeperMember = `serviceAccount:${obj(fn.inputs.serviceConfig).serviceAccountEmail as string}`;
    const publishes = ofType(plan, T.topicIamMember).filter((r) => r.inputs.member === sweeperMember).map((r) => r.inputs.topic);
    assert.deepEqual(publishes.sort(), pipeline.transitions.map((t) => t.outputTopicName).sort());
    assert.ok(!ofType(plan, T.subscription).some((s) => String(obj(s.inputs.pushConfig ?? {}).pushEndpoint) === url));
    // It is watched like every function.
    one(plan, T.uptimeCheck, (i) => obj(obj(i.monitoredResource).labels).service_name === sweeper.name, "sweeper uptime check");
  });

  it("the component base names children after their parent, parents them, and applies per-kind transforms", async () => {
    const plan = await evaluateStack("dev", { programFile: path.join(ROOT, "test/infra/fixtures/transform-program.ts") });
    const topics = ofType(plan, T.topic);
    assert.deepEqual(topics.map((t) => t.name).sort(), ["p-gamma-topic", "t-alpha-topic", "t-beta-topic"]);
    for (const t of topics.filter((x) => x.name.startsWith("t-"))) {
      assert.equal(t.inputs.messageRetentionDuration, "86400s");
      assert.equal(obj(t.inputs.labels).child, t.name);
    }
    assert.equal(one(plan, T.topic, (i) => i.name === "gamma-topic", "gamma").inputs.kmsKeyName, "k");
    assert.deepEqual(plan.outputs, { t: ["alpha-topic", "beta-topic"], p: ["gamma-topic"] });
  });

  it("bad or missing config fails the program naming every key", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "stack-config-"));
    try {
      await cp(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
      const dev = await readFile(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
      await writeFile(
        path.join(dir, "Pulumi.broken.yaml"),
        dev.replace(/^\s*gcp:region:.*$/m, "").replace(/functionMaxInstances: 3/, "functionMaxInstances: lots") + "  phase-orchestration:pushMaxDeliveryAttempts: 2\n",
      );
      await assert.rejects(evaluateStack("broken", { configDir: dir }), (e: unknown) => {
        // The error crosses the Pulumi runtime's stack resource: compare the class by name.
        assert.ok(e instanceof Error && e.name === new StackConfigError([]).name, String(e));
        for (const key of ["gcp:region", "functionMaxInstances", "pushMaxDeliveryAttempts"]) assert.ok(e.message.includes(key), `${key} in ${e.message}`);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("plan CLI: --help, unknown stack exits 2, --json prints exactly one JSON document", async () => {
    const plan = (args: string[]) => run(process.execPath, ["--import", "tsx", path.join(ROOT, "tools/plan.ts"), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const help = await plan(["--help"]);
    assert.match(help.stdout, /--stack <name>/);
    await assert.rejects(plan(["--stack", "qa"]), (e: { code: number; stderr: string }) => e.code === 2 && /unknown stack "qa"/.test(e.stderr));
    await assert.rejects(plan([]), (e: { code: number }) => e.code === 2);
    const { stdout } = await plan(["--stack", "prod", "--json"]);
    const doc = JSON.parse(stdout) as { stack: string; resources: { type: string; name: string; inputs: Obj }[]; outputs: Obj };
    assert.equal(doc.stack, "prod");
    assert.ok(doc.resources.length > 50);
    for (const r of doc.resources) assert.deepEqual(Object.keys(r), ["type", "name", "inputs"]);
    assert.ok(!stdout.includes("hooks.slack.com"));
    assert.ok(doc.resources.some((r) => r.type === T.notificationChannel && r.inputs.sensitiveLabels === "[secret]"));
    assert.ok(Object.keys(obj(doc.outputs.functions)).length >= 4);
  });
});

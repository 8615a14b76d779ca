// The pack as a whole: every stack of the real program passes every mandatory policy (with outputs
// known, and as a preview sees it), the pack's metadata, the offline runner's semantics, and a
// program broken on purpose failing through the same path `npm run plan -- --policy` takes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { StackValidationPolicy } from "@pulumi/policy";
import { UNKNOWN_SENTINELS } from "../../policies/lib/props.ts";
import { POLICIES } from "../../policies/policies.ts";
import { hasMandatoryViolation, jsonWithViolations, renderViolations, runPolicies, stackViolations } from "../../tools/plan/policy-runner.ts";
import type { Violation } from "../../tools/plan/policy-runner.ts";
import { check, environmentOf, MODES, planned, STACKS } from "./fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

describe("policy pack", function () {
  this.timeout(240_000);

  for (const stack of STACKS) {
    for (const mode of MODES) {
      it(`the ${stack} stack passes every policy (${mode})`, async () => {
        const violations = await check(POLICIES, await planned(stack, mode), await environmentOf(stack));
        assert.deepEqual(violations, []);
      });
    }
  }

  it("every policy has a name, a description, a remediation and a level, and lives in its own file", () => {
    const names = POLICIES.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const p of POLICIES) {
      assert.ok(p.description.length > 20, p.name);
      assert.ok((p.remediationSteps ?? "").length > 20, p.name);
      assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
    }
    const files = readdirSync(path.join(ROOT, "policies", "rules")).map((f) => f.replace(/\.ts$/, "")).sort();
    assert.deepEqual(files, [...names].sort());
  });

  it("the unknown sentinels are the policy SDK's", () => {
    const proxy = createRequire(import.meta.url)("@pulumi/policy/proxy.js") as Record<string, unknown>;
    const sdk = Object.entries(proxy).filter(([k]) => /^unknown[A-Z]\w*Value$/.test(k)).map(([, v]) => v);
    assert.deepEqual(new Set(sdk), UNKNOWN_SENTINELS);
  });

  it("the pack entry starts the policy server the way the Pulumi CLI runs it", async () => {
    const node = path.join(ROOT, "node_modules", ".bin", "node");
    const runner = path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack", "index.js");
    // The engine address is not contacted until the engine calls the pack; the server prints its port.
    const child = spawn(node, [runner, "127.0.0.1:9", "."], { cwd: path.join(ROOT, "policies"), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => resolve(d.toString().trim()));
      child.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    });
    child.kill();
    assert.match(port, /^\d+$/);
  });

  it("policies/package.json names the entry and a version (the SDK requires one)", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "policies", "package.json"), "utf8")) as { main: string; version: string };
    assert.equal(pkg.main, "pulumi-entry.cjs");
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
  });

  describe("offline runner", () => {
    const stackPolicy = (validateStack: StackValidationPolicy["validateStack"], enforcementLevel: StackValidationPolicy["enforcementLevel"] = "mandatory"): StackValidationPolicy => ({
      name: "probe",
      description: "probe",
      enforcementLevel,
      validateStack,
    });

    it("reports at the configured level, and skips disabled policies", async () => {
      const resources = await planned("dev");
      const probe = stackPolicy((_args, report) => report("found"));
      assert.deepEqual((await runPolicies(resources, [probe])).map((v) => v.level), ["mandatory"]);
      assert.deepEqual((await runPolicies(resources, [probe], { config: { probe: { enforcementLevel: "advisory" } } })).map((v) => v.level), ["advisory"]);
      assert.deepEqual(await runPolicies(resources, [probe], { config: { probe: { enforcementLevel: "disabled" } } }), []);
    });
    it("turns a read of an unknown value into the advisory the policy server reports", async () => {
      const resources = await planned("dev", "preview");
      const naive = stackPolicy((args) => {
        for (const r of args.resources) if (r.type === "gcp:serviceaccount/account:Account") void (r.props.email as string).length;
      });
      const found = await runPolicies(resources, [naive]);
      assert.equal(found.length, 1);
      assert.equal(found[0]!.level, "advisory");
      assert.match(found[0]!.message, /can't run policy 'probe' during preview: string value at .email/);
    });
    it("fails loudly when a policy throws", async () => {
      const resources = await planned("dev");
      await assert.rejects(runPolicies(resources, [stackPolicy(() => {
        throw new Error("boom");
      })]), /policy probe failed: boom/);
    });
    it("passes the stack's environment to the policies that read it", async () => {
      assert.equal(await environmentOf("prod"), "prod");
    });
    it("renders violations and adds them to the plan's JSON document", () => {
      const v: Violation[] = [
        { policy: "a", level: "advisory", resource: "urn:pulumi:s::p::t::x", message: "m1" },
        { policy: "b", level: "mandatory", resource: "urn:pulumi:s::p::t::y", message: "m2" },
      ];
      const text = renderViolations(v);
      assert.match(text, /1 mandatory, 1 advisory/);
      assert.ok(text.indexOf("mandatory  b  y: m2") < text.indexOf("advisory   a  x: m1"));
      assert.deepEqual(JSON.parse(jsonWithViolations('{"stack":"s","resources":[]}', v)), { stack: "s", resources: [], violations: v });
      assert.ok(hasMandatoryViolation(v));
      assert.ok(!hasMandatoryViolation([v[0]!]));
    });
    it("a program broken outside the tests' fixtures fails the mandatory policies", async () => {
      const violations = await stackViolations("staging", { programFile: path.join(import.meta.dirname, "programs", "no-dead-letters.ts") });
      assert.ok(hasMandatoryViolation(violations));
      const policies = new Set(violations.filter((v) => v.level === "mandatory").map((v) => v.policy));
      assert.deepEqual([...policies].sort(), ["push-subscription-dead-letter"]);
      assert.equal(violations.filter((v) => v.policy === "push-subscription-dead-letter").length, 4);
    });
  });
});

// Advisory policies: judgements, reported at the advisory level.
import assert from "node:assert/strict";
import { deadLetterSubscriptionRetention } from "../../policies/rules/dead-letter-subscription-retention.ts";
import { functionEnvHardcodedUrl } from "../../policies/rules/function-env-hardcoded-url.ts";
import { functionMinInstancesProd } from "../../policies/rules/function-min-instances-prod.ts";
import { functionTimeoutNearLimit } from "../../policies/rules/function-timeout-near-limit.ts";
import { check, edit, environmentOf, find, MODES, obj, planned, STACKS, T } from "./fixtures.ts";

describe("policies: advisory", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [functionEnvHardcodedUrl, functionMinInstancesProd, functionTimeoutNearLimit, deadLetterSubscriptionRetention]) {
    it(`${policy.name} is advisory`, () => assert.equal(policy.enforcementLevel, "advisory"));
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode), await environmentOf(stack)), []);
        });
      }
    }
  }

  it("function-env-hardcoded-url reports a typed-in service URL (docs/ARCHITECTURE.md FM9)", async () => {
    const resources = await planned("prod");
    const fn = find(resources, T.function, "phase5-to-phase6");
    edit(fn, (p) => (obj(p, "serviceConfig", "environmentVariables").EXPORTER_URL = "https://exporter-abc123-uw.a.run.app/export"));
    const found = await check(functionEnvHardcodedUrl, resources);
    assert.deepEqual(found.map((v) => [v.resource, v.level]), [[fn.urn, "advisory"]]);
    assert.match(found[0]!.message, /EXPORTER_URL hard-codes the URL https:\/\/exporter-abc123/);
  });
  it("function-env-hardcoded-url accepts the URL of a function of the stack", async () => {
    const resources = await planned("prod");
    const other = find(resources, T.function, "phase2-to-phase3");
    const uri = String(obj(other.outputs, "serviceConfig").uri);
    edit(find(resources, T.function, "phase5-to-phase6"), (p) => (obj(p, "serviceConfig", "environmentVariables").UPSTREAM = `${uri}/health`));
    assert.deepEqual(await check(functionEnvHardcodedUrl, resources), []);
  });
  it("function-min-instances-prod reports a production function that scales to zero", async () => {
    const resources = await planned("prod");
    const fn = find(resources, T.function, "phase3-to-phase4");
    edit(fn, (p) => (obj(p, "serviceConfig").minInstanceCount = 0));
    const found = await check(functionMinInstancesProd, resources, "prod");
    assert.deepEqual(found.map((v) => [v.resource, v.level]), [[fn.urn, "advisory"]]);
  });
  it("function-min-instances-prod leaves dev at zero alone", async () => {
    const resources = await planned("dev");
    assert.ok(resources.filter((r) => r.type === T.function).every((f) => obj(f.inputs, "serviceConfig").minInstanceCount === 0));
    assert.deepEqual(await check(functionMinInstancesProd, resources, "dev"), []);
  });
  for (const [timeout, expected] of [
    [540, /within 60s of the 600s ceiling/],
    [900, /exceeds the 600s/],
  ] as const) {
    it(`function-timeout-near-limit reports a ${timeout}s timeout`, async () => {
      const resources = await planned("dev");
      edit(find(resources, T.function, "phase2-to-phase3"), (p) => (obj(p, "serviceConfig").timeoutSeconds = timeout));
      const found = await check(functionTimeoutNearLimit, resources);
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, expected);
    });
  }
  for (const mode of MODES) {
    it(`dead-letter-subscription-retention reports a dead-letter subscription that expires (${mode})`, async () => {
      const resources = await planned("dev", mode);
      const sub = find(resources, T.subscription, "phase2-to-phase3-push-dlq-subscription");
      edit(sub, (p) => delete p.expirationPolicy);
      const found = await check(deadLetterSubscriptionRetention, resources);
      assert.deepEqual(found.map((v) => v.resource), [sub.urn]);
      assert.match(found[0]!.message, /31 days/);
    });
  }
});

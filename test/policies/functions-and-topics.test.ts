// Dead-letter topics, code-hash labels, runtimes.
import assert from "node:assert/strict";
import { deadLetterTopicSubscription } from "../../policies/rules/dead-letter-topic-subscription.ts";
import { digestInObjectName, expectedLabel, functionCodeHashLabel } from "../../policies/rules/function-code-hash-label.ts";
import { functionRuntimeSupported } from "../../policies/rules/function-runtime-supported.ts";
import { UNKNOWN_STRING } from "./unknowns.ts";
import { about, check, edit, find, MODES, obj, planned, STACKS, T, without } from "./fixtures.ts";

describe("policies: dead-letter topics, code hash, runtime", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [deadLetterTopicSubscription, functionCodeHashLabel, functionRuntimeSupported]) {
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode)), []);
        });
      }
    }
  }

  describe("dead-letter-topic-subscription", () => {
    for (const mode of MODES) {
      it(`reports a dead-letter topic whose subscription is gone (${mode})`, async () => {
        const resources = without(await planned("dev", mode), (r) => r.name === "phase4-to-phase5-push-dlq-subscription");
        const topic = find(resources, T.topic, "phase4-to-phase5-push-dlq-topic");
        const found = await check(deadLetterTopicSubscription, resources);
        assert.deepEqual(found.map((v) => v.resource), [topic.urn]);
        assert.match(found[0]!.message, /has no subscription/);
      });
    }
    it("reports a dead-letter topic that is not declared in the stack", async () => {
      const resources = await planned("dev");
      const sub = find(resources, T.subscription, "phase2-to-phase3-push-subscription");
      edit(sub, (p) => (obj(p, "deadLetterPolicy").deadLetterTopic = "projects/elsewhere/topics/lost-letters"));
      sub.propertyDependencies.deadLetterPolicy = [];
      const found = await check(deadLetterTopicSubscription, resources);
      assert.deepEqual(found.map((v) => v.resource), [sub.urn]);
      assert.match(found[0]!.message, /not declared in this stack/);
    });
    it("reports a dead-letter subscription moved to another topic", async () => {
      const resources = await planned("dev");
      const dlqSub = find(resources, T.subscription, "phase2-to-phase3-push-dlq-subscription");
      const other = find(resources, T.topic, "nba-phase3-trigger");
      edit(dlqSub, (p) => (p.topic = other.outputs.id));
      dlqSub.propertyDependencies.topic = [other.urn];
      const found = await check(deadLetterTopicSubscription, resources);
      assert.deepEqual(found.map((v) => v.resource), [find(resources, T.topic, "phase2-to-phase3-push-dlq-topic").urn]);
    });
  });

  describe("function-code-hash-label", () => {
    it("finds the digest in an object name and labels it by its 63-character prefix", () => {
      const digest = "ab".repeat(32);
      assert.equal(digestInObjectName(`fn/${digest}.zip`), digest);
      assert.equal(digestInObjectName("fn/latest.zip"), undefined);
      assert.equal(expectedLabel(digest), digest.slice(0, 63));
      assert.equal(expectedLabel("a".repeat(40)), "a".repeat(40));
    });
    for (const mode of MODES) {
      it(`reports a label that differs from the object's hash (${mode})`, async () => {
        const resources = await planned("prod", mode);
        const fn = find(resources, T.function, "phase3-to-phase4");
        edit(fn, (p) => (obj(p, "labels")["code-hash"] = "0".repeat(63)));
        const found = await check(functionCodeHashLabel, resources);
        assert.deepEqual(found.map((v) => v.resource), [fn.urn]);
        assert.match(found[0]!.message, /differs from the hash/);
      });
      it(`reports a missing label (${mode})`, async () => {
        const resources = await planned("prod", mode);
        const fn = find(resources, T.function, "phase3-to-phase4");
        edit(fn, (p) => delete obj(p, "labels")["code-hash"]);
        assert.match((await check(functionCodeHashLabel, resources))[0]?.message ?? "", /no "code-hash" label/);
      });
    }
    it("reports the full 64-character hash as the label (labels hold 63)", async () => {
      const resources = await planned("prod");
      const fn = find(resources, T.function, "phase3-to-phase4");
      const digest = digestInObjectName(String(obj(fn.inputs, "buildConfig", "source", "storageSource").object))!;
      edit(fn, (p) => (obj(p, "labels")["code-hash"] = digest));
      assert.equal((await check(functionCodeHashLabel, resources)).length, 1);
    });
    it("reports a source object whose name carries no hash", async () => {
      const resources = await planned("prod");
      const fn = find(resources, T.function, "phase3-to-phase4");
      edit(fn, (p) => (obj(p, "buildConfig", "source", "storageSource").object = "phase3-to-phase4-orchestrator/latest.zip"));
      assert.match((await check(functionCodeHashLabel, resources))[0]?.message ?? "", /carries no hash/);
    });
    it("follows an object name unknown during a preview to the source object it depends on", async () => {
      const resources = await planned("prod", "preview");
      edit(find(resources, T.bucketObject, "phase3-to-phase4"), (p) => (p.name = `phase3-to-phase4-orchestrator/${"1".repeat(64)}.zip`));
      const fn = find(resources, T.function, "phase3-to-phase4");
      edit(fn, (p) => (obj(p, "buildConfig", "source", "storageSource").object = UNKNOWN_STRING));
      const found = await check(functionCodeHashLabel, resources);
      assert.ok(found.length > 0 && found.every((v) => v.resource === fn.urn));
      assert.ok(found.some((v) => /"code-hash" label .* differs from the hash 1{64}/.test(v.message)));
    });
    it("reports CODE_HASH that differs from the object's hash", async () => {
      const resources = await planned("prod");
      const fn = find(resources, T.function, "phase5-to-phase6");
      edit(fn, (p) => (obj(p, "serviceConfig", "environmentVariables").CODE_HASH = "f".repeat(64)));
      assert.match((await check(functionCodeHashLabel, resources))[0]?.message ?? "", /CODE_HASH/);
    });
    it("reports a function not deployed from a storage object", async () => {
      const resources = await planned("prod");
      const fn = find(resources, T.function, "phase5-to-phase6");
      edit(fn, (p) => (obj(p, "buildConfig").source = { repoSource: { repoName: "r", branchName: "main" } }));
      assert.match((await check(functionCodeHashLabel, resources))[0]?.message ?? "", /not deployed from a storage object/);
    });
  });

  describe("function-runtime-supported", () => {
    const cases: [string, string | undefined, RegExp][] = [
      ["Node 20 (decommissioned)", "nodejs20", /nodejs20 is no longer supported/],
      ["Node 18", "nodejs18", /no longer supported/],
      ["a Python runtime", "python312", /not a Node.js runtime/],
      ["no runtime", undefined, /no runtime is set/],
    ];
    for (const [what, runtime, expected] of cases) {
      it(`reports ${what}`, async () => {
        const resources = await planned("dev");
        const fn = find(resources, T.function, "phase2-to-phase3");
        edit(fn, (p) => (runtime === undefined ? delete obj(p, "buildConfig").runtime : (obj(p, "buildConfig").runtime = runtime)));
        const found = about(await check(functionRuntimeSupported, resources), fn.urn);
        assert.equal(found.length, 1);
        assert.match(found[0]!.message, expected);
      });
    }
    it("accepts a later Node runtime", async () => {
      const resources = await planned("dev");
      edit(find(resources, T.function, "phase2-to-phase3"), (p) => (obj(p, "buildConfig").runtime = "nodejs24"));
      assert.deepEqual(await check(functionRuntimeSupported, resources), []);
    });
  });
});

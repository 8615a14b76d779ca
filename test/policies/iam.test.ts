// IAM policies: the push account's run.invoker binding (docs/ARCHITECTURE.md FM6), the function's own service
// account, no public invoker.
import assert from "node:assert/strict";
import { functionPublicInvoker } from "../../policies/rules/function-public-invoker.ts";
import { functionServiceAccount } from "../../policies/rules/function-service-account.ts";
import { pushSubscriptionInvoker } from "../../policies/rules/push-subscription-invoker.ts";
import { check, copyOf, edit, find, MODES, obj, ofType, planned, STACKS, T, without } from "./fixtures.ts";

const INVOKER_NAME = "phase3-to-phase4-push-push-invoker";

describe("policies: IAM", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [pushSubscriptionInvoker, functionServiceAccount, functionPublicInvoker]) {
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode)), []);
        });
      }
    }
  }

  describe("push-subscription-invoker", () => {
    for (const mode of MODES) {
      it(`reports a push subscription whose invoker binding was dropped (${mode})`, async () => {
        const resources = without(await planned("prod", mode), (r) => r.name === INVOKER_NAME);
        const sub = find(resources, T.subscription, "phase3-to-phase4-push-subscription");
        const found = await check(pushSubscriptionInvoker, resources);
        assert.deepEqual(found.map((v) => v.resource), [sub.urn]);
        assert.match(found[0]!.message, /holds no roles\/run.invoker on the service of phase3-to-phase4-orchestrator-function/);
      });
    }
    it("reports a binding granted to another account (the function's runtime account)", async () => {
      const resources = await planned("prod");
      const runtimeEmail = String(find(resources, T.account, "phase3-to-phase4-orchestrator-sa").outputs.email);
      edit(find(resources, T.runServiceIamMember, INVOKER_NAME), (p) => (p.member = `serviceAccount:${runtimeEmail}`));
      const found = await check(pushSubscriptionInvoker, resources);
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, /phase3-to-phase4-push@/);
    });
    it("reports a binding on another function's service", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.runServiceIamMember, INVOKER_NAME), (p) => (p.name = "phase4-to-phase5-orchestrator"));
      assert.equal((await check(pushSubscriptionInvoker, resources)).length, 1);
    });
    it("reports a binding with a role that does not invoke", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.runServiceIamMember, INVOKER_NAME), (p) => (p.role = "roles/run.viewer"));
      assert.equal((await check(pushSubscriptionInvoker, resources)).length, 1);
    });
    it("reports a binding in another region", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.runServiceIamMember, INVOKER_NAME), (p) => (p.location = "europe-west1"));
      assert.equal((await check(pushSubscriptionInvoker, resources)).length, 1);
    });
    it("reports a binding that names another account during a preview (by dependency)", async () => {
      const resources = await planned("prod", "preview");
      const runtimeAccount = find(resources, T.account, "phase3-to-phase4-orchestrator-sa");
      const binding = find(resources, T.runServiceIamMember, INVOKER_NAME);
      binding.propertyDependencies.member = [runtimeAccount.urn];
      assert.equal((await check(pushSubscriptionInvoker, resources)).length, 1);
    });
    it("accepts a project-wide run.invoker grant to the push account instead", async () => {
      const base = await planned("prod");
      const pushEmail = String(find(base, T.account, "phase3-to-phase4-push-push-sa").outputs.email);
      const resources = without(base, (r) => r.name === INVOKER_NAME);
      const grant = copyOf(find(resources, "gcp:projects/iAMMember:IAMMember"), "invoker");
      edit(grant, (p) => Object.assign(p, { role: "roles/run.invoker", member: `serviceAccount:${pushEmail}` }));
      assert.deepEqual(await check(pushSubscriptionInvoker, [...resources, grant]), []);
    });
  });

  describe("function-service-account", () => {
    it("reports a function without a service account (default compute account)", async () => {
      const resources = await planned("staging");
      const fn = find(resources, T.function, "phase4-to-phase5");
      edit(fn, (p) => delete obj(p, "serviceConfig").serviceAccountEmail);
      const found = await check(functionServiceAccount, resources);
      assert.deepEqual(found.map((v) => v.resource), [fn.urn]);
      assert.match(found[0]!.message, /runs as the default compute service account/);
    });
    for (const email of ["123456789012-compute@developer.gserviceaccount.com", "nba-props-platform@appspot.gserviceaccount.com"]) {
      it(`reports a function running as ${email}`, async () => {
        const resources = await planned("staging");
        const fn = find(resources, T.function, "phase4-to-phase5");
        edit(fn, (p) => (obj(p, "serviceConfig").serviceAccountEmail = email));
        assert.deepEqual((await check(functionServiceAccount, resources)).map((v) => v.resource), [fn.urn]);
      });
    }
    for (const mode of MODES) {
      it(`reports two functions sharing one account (${mode})`, async () => {
        const resources = await planned("staging", mode);
        const a = find(resources, T.function, "phase2-to-phase3");
        const b = find(resources, T.function, "phase5-to-phase6");
        const aAccount = find(resources, T.account, "phase2-to-phase3-orchestrator-sa");
        edit(b, (p) => (obj(p, "serviceConfig").serviceAccountEmail = obj(a.inputs, "serviceConfig").serviceAccountEmail));
        b.propertyDependencies.serviceConfig = [aAccount.urn, ...(b.propertyDependencies.serviceConfig ?? []).filter((u) => !u.includes("phase5-to-phase6-orchestrator-sa"))];
        const found = await check(functionServiceAccount, resources);
        assert.deepEqual(found.map((v) => v.resource).sort(), [a.urn, b.urn].sort());
        assert.match(found[0]!.message, /shares its service account/);
      });
    }
  });

  describe("function-public-invoker", () => {
    for (const member of ["allUsers", "allAuthenticatedUsers"]) {
      it(`reports run.invoker granted to ${member}`, async () => {
        const resources = await planned("dev");
        const binding = find(resources, T.runServiceIamMember, "uptime-invoker");
        edit(binding, (p) => (p.member = member));
        const found = await check(functionPublicInvoker, resources);
        assert.deepEqual(found.map((v) => v.resource), [binding.urn]);
        assert.match(found[0]!.message, new RegExp(member));
      });
    }
    it("reports a public member in a binding's member list", async () => {
      const resources = await planned("dev");
      const binding = copyOf(find(resources, T.runServiceIamMember, "uptime-invoker"), "binding");
      binding.type = "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding";
      edit(binding, (p) => {
        delete p.member;
        p.members = ["serviceAccount:x@p.iam.gserviceaccount.com", "allUsers"];
      });
      assert.equal((await check(functionPublicInvoker, [...resources, binding])).length, 1);
    });
    it("reports a public member in an IAM policy document", async () => {
      const resources = await planned("dev");
      const policy = copyOf(find(resources, T.runServiceIamMember, "uptime-invoker"), "policy");
      policy.type = "gcp:cloudfunctionsv2/functionIamPolicy:FunctionIamPolicy";
      edit(policy, (p) => {
        delete p.member;
        delete p.role;
        p.policyData = JSON.stringify({ bindings: [{ role: "roles/cloudfunctions.invoker", members: ["allAuthenticatedUsers"] }] });
      });
      assert.equal((await check(functionPublicInvoker, [...resources, policy])).length, 1);
    });
    it("reports a project-wide public invoker", async () => {
      const resources = await planned("dev");
      const grant = copyOf(find(resources, "gcp:projects/iAMMember:IAMMember"), "public");
      edit(grant, (p) => Object.assign(p, { role: "roles/run.invoker", member: "allUsers" }));
      assert.equal((await check(functionPublicInvoker, [...resources, grant])).length, 1);
    });
    it("does not flag the program's own bindings, which are all to service accounts", async () => {
      const resources = await planned("dev");
      const members = ofType(resources, T.runServiceIamMember).map((r) => String(r.inputs.member));
      assert.ok(members.length >= 8 && members.every((m) => m.startsWith("serviceAccount:")));
    });
  });
});

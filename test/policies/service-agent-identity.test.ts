// Service agents are granted roles through members computed from a gcp.projects.ServiceIdentity,
// never through "service-<number>@gcp-sa-..." strings built by hand.
import assert from "node:assert/strict";
import * as path from "node:path";
import { serviceAgentMemberFromIdentity } from "../../policies/rules/service-agent-member-from-identity.ts";
import { captureStack } from "../../tools/plan/policy-capture.ts";
import { check, edit, find, MODES, planned, STACKS } from "./fixtures.ts";

const AGENT_MEMBER = /^serviceAccount:service-\d+@gcp-sa-/;
const UPTIME_INVOKER = "alerting-uptime-invoker-phase-sweeper";

describe("policies: service-agent-member-from-identity", function () {
  this.timeout(180_000);

  for (const stack of STACKS) {
    for (const mode of MODES) {
      it(`the ${stack} stack passes (${mode})`, async () => {
        assert.deepEqual(await check(serviceAgentMemberFromIdentity, await planned(stack, mode)), []);
      });
    }
  }

  it("the program grants to service agents (Pub/Sub, Monitoring), each member computed from a ServiceIdentity", async () => {
    const resources = await planned("prod");
    const grants = resources.filter((r) => typeof r.inputs.member === "string" && AGENT_MEMBER.test(r.inputs.member));
    const agents = new Set(grants.map((g) => String(g.inputs.member).replace(/^serviceAccount:service-\d+@/, "")));
    assert.deepEqual([...agents].sort(), ["gcp-sa-monitoring-notification.iam.gserviceaccount.com", "gcp-sa-pubsub.iam.gserviceaccount.com"]);
    const identities = new Set(resources.filter((r) => r.type === "gcp:projects/serviceIdentity:ServiceIdentity").map((r) => r.urn));
    for (const g of grants) assert.ok((g.propertyDependencies.member ?? []).some((u) => identities.has(u)), g.name);
  });

  it("a program that builds the agents' members by hand fails, naming every such grant", async () => {
    const broken = await captureStack("dev", { programFile: path.join(import.meta.dirname, "programs", "hand-built-service-agents.ts") });
    const expected = broken.resources.filter((r) => typeof r.inputs.member === "string" && AGENT_MEMBER.test(r.inputs.member)).map((r) => r.urn);
    assert.ok(expected.length >= 10, `${expected.length} agent grants`);
    const found = await check(serviceAgentMemberFromIdentity, broken.resources);
    assert.deepEqual(found.map((v) => v.resource).sort(), expected.sort());
    assert.match(found[0]!.message, /by a hand-built name; take it from a gcp.projects.ServiceIdentity/);
  });

  it("a member computed from the identity of another agent does not count", async () => {
    const resources = await planned("dev");
    const invoker = find(resources, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", UPTIME_INVOKER);
    edit(invoker, (p) => (p.member = String(p.member).replace("gcp-sa-monitoring-notification", "gcp-sa-pubsub")));
    const found = await check(serviceAgentMemberFromIdentity, resources);
    assert.deepEqual(found.map((v) => v.resource), [invoker.urn]);
  });
});

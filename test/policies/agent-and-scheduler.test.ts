// The Pub/Sub service agent's grants that make dead-lettering work, and Cloud Scheduler jobs that
// authenticate (OIDC, an account with run.invoker on the target) and retry.
import assert from "node:assert/strict";
import { deadLetterServiceAgentBindings } from "../../policies/rules/dead-letter-service-agent-bindings.ts";
import { schedulerJobAuthenticated } from "../../policies/rules/scheduler-job-authenticated.ts";
import { about, check, copyOf, edit, find, MODES, obj, planned, STACKS, T, without } from "./fixtures.ts";
import { UNKNOWN_STRING } from "./unknowns.ts";

const TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember";
const SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember";
const PROJECT_IAM = "gcp:projects/iAMMember:IAMMember";
const JOB = "gcp:cloudscheduler/job:Job";

const PUBLISHER = "phase3-to-phase4-push-dlq-agent-publisher";
const SUBSCRIBER = "phase3-to-phase4-push-agent-subscriber";
const SUBSCRIPTION = "phase3-to-phase4-push-subscription";
const SWEEPER_JOB = "phase-sweeper-schedule-job";
const SWEEPER_INVOKER = "phase-sweeper-schedule-invoker";

describe("policies: dead-letter service agent and scheduler jobs", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [deadLetterServiceAgentBindings, schedulerJobAuthenticated]) {
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode)), []);
        });
      }
    }
  }

  describe("dead-letter-service-agent-bindings", () => {
    for (const mode of MODES) {
      it(`reports a subscription whose dead-letter topic lost the agent's publisher binding (${mode})`, async () => {
        const resources = without(await planned("prod", mode), (r) => r.name === PUBLISHER);
        const sub = find(resources, T.subscription, SUBSCRIPTION);
        const found = await check(deadLetterServiceAgentBindings, resources);
        assert.deepEqual(found.map((v) => v.resource), [sub.urn]);
        assert.match(found[0]!.message, /holds no roles\/pubsub.publisher on dead-letter topic phase3-to-phase4-push-dlq-topic/);
      });
      it(`reports a subscription that lost the agent's subscriber binding (${mode})`, async () => {
        const resources = without(await planned("prod", mode), (r) => r.name === SUBSCRIBER);
        const sub = find(resources, T.subscription, SUBSCRIPTION);
        const found = await check(deadLetterServiceAgentBindings, resources);
        assert.deepEqual(found.map((v) => v.resource), [sub.urn]);
        assert.match(found[0]!.message, /holds no roles\/pubsub.subscriber on phase3-to-phase4-push-subscription/);
      });
    }
    it("reports a publisher binding with a role that cannot publish", async () => {
      const resources = await planned("staging");
      edit(find(resources, TOPIC_IAM, PUBLISHER), (p) => (p.role = "roles/pubsub.viewer"));
      const found = await check(deadLetterServiceAgentBindings, resources);
      assert.deepEqual(found.map((v) => v.resource), [find(resources, T.subscription, SUBSCRIPTION).urn]);
      assert.match(found[0]!.message, /publisher/);
    });
    it("reports a subscriber binding with the publisher role (which cannot acknowledge)", async () => {
      const resources = await planned("staging");
      edit(find(resources, SUBSCRIPTION_IAM, SUBSCRIBER), (p) => (p.role = "roles/pubsub.publisher"));
      const found = await check(deadLetterServiceAgentBindings, resources);
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, /subscriber/);
    });
    it("reports a publisher binding on another dead-letter topic (by name)", async () => {
      const resources = await planned("prod");
      const other = find(resources, T.topic, "phase4-to-phase5-push-dlq-topic");
      edit(find(resources, TOPIC_IAM, PUBLISHER), (p) => (p.topic = other.outputs.name));
      const found = await check(deadLetterServiceAgentBindings, resources);
      // phase4-to-phase5's own binding still covers its topic: only phase3-to-phase4 is short of one.
      assert.deepEqual(found.map((v) => v.resource), [find(resources, T.subscription, SUBSCRIPTION).urn]);
    });
    it("reports a publisher binding computed from another topic during a preview (by dependency)", async () => {
      const resources = await planned("prod", "preview");
      const other = find(resources, T.topic, "phase4-to-phase5-push-dlq-topic");
      const binding = find(resources, TOPIC_IAM, PUBLISHER);
      edit(binding, (p) => (p.topic = UNKNOWN_STRING));
      binding.propertyDependencies.topic = [other.urn];
      assert.equal((await check(deadLetterServiceAgentBindings, resources)).length, 1);
    });
    it("reports a subscriber binding on another subscription (the dead-letter pull subscription)", async () => {
      const resources = await planned("prod");
      const dlqSub = find(resources, T.subscription, "phase3-to-phase4-push-dlq-subscription");
      edit(find(resources, SUBSCRIPTION_IAM, SUBSCRIBER), (p) => (p.subscription = dlqSub.outputs.name));
      const found = await check(deadLetterServiceAgentBindings, resources);
      assert.deepEqual(found.map((v) => v.resource), [find(resources, T.subscription, SUBSCRIPTION).urn]);
    });
    it("reports grants to another member than the Pub/Sub service agent", async () => {
      const resources = await planned("prod");
      const pushEmail = String(find(resources, T.account, "phase3-to-phase4-push-push-sa").outputs.email);
      edit(find(resources, TOPIC_IAM, PUBLISHER), (p) => (p.member = `serviceAccount:${pushEmail}`));
      edit(find(resources, SUBSCRIPTION_IAM, SUBSCRIBER), (p) => (p.member = "serviceAccount:service-123@gcp-sa-pubsub.example.com"));
      const found = await check(deadLetterServiceAgentBindings, resources);
      assert.equal(found.length, 2);
      assert.ok(found.every((v) => v.resource === find(resources, T.subscription, SUBSCRIPTION).urn));
    });
    it("reports a member computed from a declared account during a preview, and accepts one computed from nothing declared", async () => {
      const resources = await planned("prod", "preview");
      const pushAccount = find(resources, T.account, "phase3-to-phase4-push-push-sa");
      const publisher = find(resources, TOPIC_IAM, PUBLISHER);
      edit(publisher, (p) => (p.member = UNKNOWN_STRING));
      // Unknown (the project number not known yet) and not from a declared account: may be the agent.
      assert.deepEqual(await check(deadLetterServiceAgentBindings, resources), []);
      publisher.propertyDependencies.member = [pushAccount.urn];
      assert.equal((await check(deadLetterServiceAgentBindings, resources)).length, 1);
    });
    it("accepts project-wide grants of both roles to the agent instead", async () => {
      const base = await planned("prod");
      const agent = String(find(base, TOPIC_IAM, PUBLISHER).outputs.member);
      const resources = without(base, (r) => r.name === PUBLISHER || r.name === SUBSCRIBER);
      assert.equal((await check(deadLetterServiceAgentBindings, resources)).length, 2);
      const grants = ["roles/pubsub.publisher", "roles/pubsub.subscriber"].map((role, i) => {
        const g = copyOf(find(resources, PROJECT_IAM), `agent-${i}`);
        return edit(g, (p) => Object.assign(p, { role, member: agent }));
      });
      assert.deepEqual(await check(deadLetterServiceAgentBindings, [...resources, ...grants]), []);
    });
    it("reads a topic IAM policy document: the agent as publisher passes, as viewer does not", async () => {
      for (const [role, expected] of [
        ["roles/pubsub.publisher", 0],
        ["roles/pubsub.viewer", 1],
      ] as const) {
        const resources = await planned("prod");
        const agent = String(find(resources, TOPIC_IAM, PUBLISHER).outputs.member);
        const binding = find(resources, TOPIC_IAM, PUBLISHER);
        binding.type = "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy";
        edit(binding, (p) => {
          delete p.role;
          delete p.member;
          p.policyData = JSON.stringify({ bindings: [{ role, members: [agent] }] });
        });
        assert.equal((await check(deadLetterServiceAgentBindings, resources)).length, expected, role);
      }
    });
    it("does not ask for grants on subscriptions without a dead-letter policy", async () => {
      const resources = await planned("dev");
      const sub = find(resources, T.subscription, SUBSCRIPTION);
      edit(sub, (p) => delete p.deadLetterPolicy);
      const withoutSubscriber = without(resources, (r) => r.name === SUBSCRIBER);
      assert.deepEqual(await check(deadLetterServiceAgentBindings, withoutSubscriber), []);
    });
  });

  describe("scheduler-job-authenticated", () => {
    for (const mode of MODES) {
      it(`reports a job whose account lost its run.invoker binding (${mode})`, async () => {
        const resources = without(await planned("prod", mode), (r) => r.name === SWEEPER_INVOKER);
        const job = find(resources, JOB, SWEEPER_JOB);
        const found = await check(schedulerJobAuthenticated, resources);
        assert.deepEqual(found.map((v) => v.resource), [job.urn]);
        assert.match(found[0]!.message, /holds no roles\/run.invoker on the service of phase-sweeper-function/);
      });
      it(`reports a job without an OIDC token (${mode})`, async () => {
        const resources = await planned("prod", mode);
        const job = find(resources, JOB, SWEEPER_JOB);
        edit(job, (p) => delete obj(p, "httpTarget").oidcToken);
        const found = await check(schedulerJobAuthenticated, resources);
        assert.deepEqual(found.map((v) => v.resource), [job.urn]);
        assert.match(found[0]!.message, /sends no OIDC token/);
      });
    }
    it("reports a job that sends an OAuth token instead, naming why", async () => {
      const resources = await planned("staging");
      const job = find(resources, JOB, SWEEPER_JOB);
      edit(job, (p) => {
        const target = obj(p, "httpTarget");
        target.oauthToken = target.oidcToken;
        delete target.oidcToken;
      });
      const found = await check(schedulerJobAuthenticated, resources);
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, /OAuth token/);
    });
    it("reports a job calling as another account (the reconciler's scheduler account)", async () => {
      const resources = await planned("prod");
      const otherEmail = String(find(resources, T.account, "phase-reconciler-schedule-sa").outputs.email);
      const job = find(resources, JOB, SWEEPER_JOB);
      edit(job, (p) => (obj(p, "httpTarget", "oidcToken").serviceAccountEmail = otherEmail));
      const found = await check(schedulerJobAuthenticated, resources);
      assert.deepEqual(about(found, job.urn).length, 1);
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, new RegExp(otherEmail.replace(/\./g, "\\.")));
    });
    it("reports a job calling as another account during a preview (by dependency)", async () => {
      const resources = await planned("prod", "preview");
      const job = find(resources, JOB, SWEEPER_JOB);
      const other = find(resources, T.account, "phase-reconciler-schedule-sa");
      job.propertyDependencies.httpTarget = [...(job.propertyDependencies.httpTarget ?? []).filter((u) => !u.endsWith("phase-sweeper-schedule-sa")), other.urn];
      assert.deepEqual((await check(schedulerJobAuthenticated, resources)).map((v) => v.resource), [job.urn]);
    });
    it("reports an invoker binding on another function's service", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.runServiceIamMember, SWEEPER_INVOKER), (p) => (p.name = "phase-reconciler"));
      assert.equal((await check(schedulerJobAuthenticated, resources)).length, 1);
    });
    it("reports an invoker binding with a role that does not invoke", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.runServiceIamMember, SWEEPER_INVOKER), (p) => (p.role = "roles/run.viewer"));
      assert.equal((await check(schedulerJobAuthenticated, resources)).length, 1);
    });
    it("reports a job without a retryConfig, and one whose retryConfig retries nothing", async () => {
      const resources = await planned("dev");
      const job = find(resources, JOB, SWEEPER_JOB);
      edit(job, (p) => delete p.retryConfig);
      let found = await check(schedulerJobAuthenticated, resources);
      assert.deepEqual(found.map((v) => v.resource), [job.urn]);
      assert.match(found[0]!.message, /no retryConfig/);
      edit(job, (p) => (p.retryConfig = { minBackoffDuration: "30s" }));
      found = await check(schedulerJobAuthenticated, resources);
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, /retries no failed call/);
      edit(job, (p) => (p.retryConfig = { retryCount: 0 }));
      assert.equal((await check(schedulerJobAuthenticated, resources)).length, 1);
    });
    it("accepts a project-wide run.invoker grant to the job's account instead", async () => {
      const base = await planned("prod");
      const email = String(find(base, T.account, "phase-sweeper-schedule-sa").outputs.email);
      const resources = without(base, (r) => r.name === SWEEPER_INVOKER);
      const grant = copyOf(find(resources, PROJECT_IAM), "sched-invoker");
      edit(grant, (p) => Object.assign(p, { role: "roles/run.invoker", member: `serviceAccount:${email}` }));
      assert.deepEqual(await check(schedulerJobAuthenticated, [...resources, grant]), []);
    });
    it("does not check jobs without an HTTP target (Pub/Sub targets need no token)", async () => {
      const resources = await planned("dev");
      const job = find(resources, JOB, SWEEPER_JOB);
      edit(job, (p) => {
        delete p.httpTarget;
        p.pubsubTarget = { topicName: "projects/p/topics/t", data: "e30=" };
      });
      assert.deepEqual(await check(schedulerJobAuthenticated, resources), []);
    });
  });
});

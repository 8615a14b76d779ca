// Push subscription policies: dead letters, retry backoff, OIDC token, ack deadline.
import assert from "node:assert/strict";
import { pushSubscriptionAckDeadline } from "../../policies/rules/push-subscription-ack-deadline.ts";
import { pushSubscriptionDeadLetter } from "../../policies/rules/push-subscription-dead-letter.ts";
import { pushSubscriptionOidcToken } from "../../policies/rules/push-subscription-oidc-token.ts";
import { pushSubscriptionRetryBackoff } from "../../policies/rules/push-subscription-retry-backoff.ts";
import type { RegisteredResource } from "../../tools/plan/policy-capture.ts";
import { about, check, edit, find, MODES, obj, planned, STACKS, T } from "./fixtures.ts";

type Props = Record<string, unknown>;
type Case = [string, (p: Props, all: RegisteredResource[]) => void, RegExp];

async function reports(policy: Parameters<typeof check>[0], mode: "known" | "preview", change: Case[1], expected: RegExp, target = "push-subscription"): Promise<void> {
  const resources = await planned("dev", mode);
  const sub = find(resources, T.subscription, target);
  edit(sub, (p) => change(p, resources));
  const found = about(await check(policy, resources), sub.urn);
  assert.ok(found.some((v) => expected.test(v.message) && v.level === "mandatory"), `expected ${expected} about ${sub.name}, got ${JSON.stringify(found)}`);
}

describe("policies: push subscriptions", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [pushSubscriptionDeadLetter, pushSubscriptionRetryBackoff, pushSubscriptionOidcToken, pushSubscriptionAckDeadline]) {
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack's subscriptions pass (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode)), []);
        });
      }
    }
  }

  describe("push-subscription-dead-letter", () => {
    const cases: Case[] = [
      ["no deadLetterPolicy", (p) => delete p.deadLetterPolicy, /no deadLetterPolicy/],
      ["no dead-letter topic", (p) => delete obj(p, "deadLetterPolicy").deadLetterTopic, /no deadLetterTopic/],
      ["no maxDeliveryAttempts", (p) => delete obj(p, "deadLetterPolicy").maxDeliveryAttempts, /maxDeliveryAttempts is not set/],
      ["too few attempts", (p) => (obj(p, "deadLetterPolicy").maxDeliveryAttempts = 4), /maxDeliveryAttempts is 4/],
      ["too many attempts", (p) => (obj(p, "deadLetterPolicy").maxDeliveryAttempts = 101), /maxDeliveryAttempts is 101/],
      ["dead letters into its own topic", (p) => (obj(p, "deadLetterPolicy").deadLetterTopic = p.topic), /own topic/],
    ];
    for (const [what, change, expected] of cases) {
      it(`reports ${what}`, () => reports(pushSubscriptionDeadLetter, "known", change, expected));
    }
    it("reports a missing policy during a preview too", () => reports(pushSubscriptionDeadLetter, "preview", (p) => delete p.deadLetterPolicy, /no deadLetterPolicy/));
    it("leaves pull subscriptions alone", async () => {
      const resources = await planned("dev");
      const sub = find(resources, T.subscription, "dlq-subscription");
      edit(sub, (p) => delete p.deadLetterPolicy);
      assert.deepEqual(await check(pushSubscriptionDeadLetter, resources), []);
    });
  });

  describe("push-subscription-retry-backoff", () => {
    const cases: Case[] = [
      ["no retryPolicy", (p) => delete p.retryPolicy, /no retryPolicy/],
      ["a constant backoff", (p) => Object.assign(obj(p, "retryPolicy"), { minimumBackoff: "60s", maximumBackoff: "60s" }), /minimum must be below the maximum/],
      ["a minimum above the maximum", (p) => Object.assign(obj(p, "retryPolicy"), { minimumBackoff: "300s", maximumBackoff: "20s" }), /minimum must be below/],
      ["a maximum above 600s", (p) => (obj(p, "retryPolicy").maximumBackoff = "900s"), /at most 600s/],
      ["a malformed duration", (p) => (obj(p, "retryPolicy").minimumBackoff = "ten seconds"), /not a duration/],
      ["a minimum at the default maximum", (p) => Object.assign(obj(p, "retryPolicy"), { minimumBackoff: "600s", maximumBackoff: undefined }), /600s to 600s/],
    ];
    for (const [what, change, expected] of cases) {
      it(`reports ${what}`, () => reports(pushSubscriptionRetryBackoff, "known", change, expected));
    }
  });

  describe("push-subscription-oidc-token", () => {
    const cases: Case[] = [
      ["no oidcToken", (p) => delete obj(p, "pushConfig").oidcToken, /no oidcToken/],
      ["an oidcToken without an account", (p) => delete obj(p, "pushConfig", "oidcToken").serviceAccountEmail, /no serviceAccountEmail/],
      ["an http endpoint", (p) => (obj(p, "pushConfig").pushEndpoint = "http://example.invalid/push"), /not https/],
      ["no endpoint", (p) => delete obj(p, "pushConfig").pushEndpoint, /no pushEndpoint/],
    ];
    for (const [what, change, expected] of cases) {
      it(`reports ${what}`, () => reports(pushSubscriptionOidcToken, "known", change, expected));
    }
    it("reports a missing token during a preview (the account's email is unknown, the token block is not)", () =>
      reports(pushSubscriptionOidcToken, "preview", (p) => delete obj(p, "pushConfig").oidcToken, /no oidcToken/));
  });

  describe("push-subscription-ack-deadline", () => {
    for (const mode of MODES) {
      it(`reports an ack deadline below the function's timeout (${mode})`, () =>
        reports(pushSubscriptionAckDeadline, mode, (p) => (p.ackDeadlineSeconds = 60), /ackDeadlineSeconds 60 .* below the 300s timeout/));
      it(`reports Pub/Sub's 10s default when no ack deadline is set (${mode})`, () =>
        reports(pushSubscriptionAckDeadline, mode, (p) => delete p.ackDeadlineSeconds, /ackDeadlineSeconds 10 /));
    }
    it("reports a function whose timeout was raised above the deadline", async () => {
      const resources = await planned("dev");
      const sub = find(resources, T.subscription, "phase3-to-phase4-push-subscription");
      edit(find(resources, T.function, "phase3-to-phase4"), (p) => (obj(p, "serviceConfig").timeoutSeconds = 540));
      const found = await check(pushSubscriptionAckDeadline, resources);
      assert.deepEqual(found.map((v) => v.resource), [sub.urn]);
      assert.match(found[0]!.message, /540s timeout/);
    });
    it("uses the 60s default timeout of a function that sets none", async () => {
      const resources = await planned("dev");
      edit(find(resources, T.function, "phase2-to-phase3"), (p) => delete obj(p, "serviceConfig").timeoutSeconds);
      const sub = find(resources, T.subscription, "phase2-to-phase3-push-subscription");
      edit(sub, (p) => (p.ackDeadlineSeconds = 59));
      assert.match((await check(pushSubscriptionAckDeadline, resources))[0]?.message ?? "", /59 .* 60s timeout/);
    });
  });
});

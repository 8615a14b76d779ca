// Alerting coverage: 5xx alerts, uptime checks, notification channels.
import assert from "node:assert/strict";
import { counts5xx, scopeCovers, scopedServices } from "../../policies/lib/alerting.ts";
import { alertPolicyNotificationChannel } from "../../policies/rules/alert-policy-notification-channel.ts";
import { function5xxAlert } from "../../policies/rules/function-5xx-alert.ts";
import { functionUptimeCheck } from "../../policies/rules/function-uptime-check.ts";
import type { RegisteredResource } from "../../tools/plan/policy-capture.ts";
import { check, edit, find, MODES, obj, planned, STACKS, T, without } from "./fixtures.ts";

const FN = "phase4-to-phase5-orchestrator";
const policyNamed = (resources: RegisteredResource[], suffix: string) => find(resources, T.alertPolicy, `alerting-policy-${suffix}`);

describe("policies: alerting", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [function5xxAlert, functionUptimeCheck, alertPolicyNotificationChannel]) {
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode)), []);
        });
      }
    }
  }

  describe("reading conditions", () => {
    it("recognises 5xx conditions and their scope", () => {
      assert.ok(counts5xx('metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx"'));
      assert.ok(counts5xx('metric.labels.response_code=~"5.."'));
      assert.ok(!counts5xx('metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="4xx"'));
      assert.deepEqual(scopedServices('resource.labels.service_name="a" AND x'), ["a"]);
      assert.deepEqual(scopedServices('resource.labels.service_name=one_of("a","b")'), ["a", "b"]);
      assert.equal(scopedServices('metric.labels.response_code_class="5xx"'), undefined);
      assert.ok(scopeCovers(undefined, "any"));
      assert.ok(scopeCovers(["~phase.*"], "phase2-to-phase3-orchestrator"));
      assert.ok(!scopeCovers(["other"], "phase2-to-phase3-orchestrator"));
    });
  });

  describe("function-5xx-alert", () => {
    for (const mode of MODES) {
      it(`reports a function whose 5xx alert policy is gone (${mode})`, async () => {
        const resources = without(await planned("prod", mode), (r) => r.name === `alerting-policy-5xx-${FN}`);
        const fn = find(resources, T.function, FN);
        const found = await check(function5xxAlert, resources);
        assert.deepEqual(found.map((v) => v.resource), [fn.urn]);
        assert.match(found[0]!.message, /no enabled alert policy on its 5xx/);
      });
      it(`reports a function whose 5xx alert policy is disabled (${mode})`, async () => {
        const resources = await planned("prod", mode);
        edit(policyNamed(resources, `5xx-${FN}`), (p) => (p.enabled = false));
        assert.equal((await check(function5xxAlert, resources)).length, 1);
      });
    }
    it("reports a 5xx alert scoped to another service", async () => {
      const resources = await planned("prod");
      const policy = policyNamed(resources, `5xx-${FN}`);
      edit(policy, (p) => {
        const c = obj((p.conditions as Record<string, unknown>[])[0]!, "conditionThreshold");
        c.filter = String(c.filter).replace(`service_name="${FN}"`, 'service_name="someone-else"');
      });
      assert.equal((await check(function5xxAlert, resources)).length, 1);
    });
    it("reports a 4xx alert in place of the 5xx one", async () => {
      const resources = await planned("prod");
      edit(policyNamed(resources, `5xx-${FN}`), (p) => {
        const c = obj((p.conditions as Record<string, unknown>[])[0]!, "conditionThreshold");
        c.filter = String(c.filter).replace('"5xx"', '"4xx"');
      });
      assert.equal((await check(function5xxAlert, resources)).length, 1);
    });
    it("accepts one project-wide 5xx alert covering every function", async () => {
      const resources = (await planned("prod")).filter((r) => !(r.type === T.alertPolicy && r.name.includes("-5xx-")) || r.name === `alerting-policy-5xx-${FN}`);
      edit(policyNamed(resources, `5xx-${FN}`), (p) => {
        const c = obj((p.conditions as Record<string, unknown>[])[0]!, "conditionThreshold");
        c.filter = 'resource.type="cloud_run_revision" AND metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx"';
      });
      assert.deepEqual(await check(function5xxAlert, resources), []);
    });
  });

  describe("function-uptime-check", () => {
    for (const mode of MODES) {
      it(`reports a function without an uptime check (${mode})`, async () => {
        const resources = without(await planned("dev", mode), (r) => r.name === `alerting-uptime-${FN}`);
        const found = await check(functionUptimeCheck, resources);
        assert.deepEqual(found.map((v) => v.resource), [find(resources, T.function, FN).urn]);
        assert.match(found[0]!.message, /no uptime check/);
      });
      it(`reports an uptime check no alert policy watches (${mode})`, async () => {
        const resources = without(await planned("dev", mode), (r) => r.name === `alerting-policy-uptime-${FN}`);
        const found = await check(functionUptimeCheck, resources);
        assert.equal(found.length, 1);
        assert.match(found[0]!.message, /notify nobody/);
      });
    }
    it("reports an uptime check pointed at another service", async () => {
      const resources = await planned("dev");
      edit(find(resources, T.uptimeCheck, `uptime-${FN}`), (p) => (obj(p, "monitoredResource", "labels").service_name = "not-a-function"));
      assert.equal((await check(functionUptimeCheck, resources)).length, 1);
    });
  });

  describe("alert-policy-notification-channel", () => {
    for (const mode of MODES) {
      it(`reports an alert policy without channels (${mode})`, async () => {
        const resources = await planned("staging", mode);
        const policy = policyNamed(resources, "both-stores-failed");
        edit(policy, (p) => (p.notificationChannels = []));
        const found = await check(alertPolicyNotificationChannel, resources);
        assert.deepEqual(found.map((v) => v.resource), [policy.urn]);
        assert.match(found[0]!.message, /no notification channel/);
      });
      it(`reports an alert policy with the channels left out (${mode})`, async () => {
        const resources = await planned("staging", mode);
        edit(policyNamed(resources, `uptime-${FN}`), (p) => delete p.notificationChannels);
        assert.equal((await check(alertPolicyNotificationChannel, resources)).length, 1);
      });
    }
    it("reports a policy that notifies a disabled channel", async () => {
      const resources = await planned("staging");
      edit(find(resources, T.notificationChannel, "slack-errors"), (p) => (p.enabled = false));
      const found = await check(alertPolicyNotificationChannel, resources);
      assert.ok(found.length > 0 && found.every((v) => /disabled/.test(v.message)));
    });
  });
});

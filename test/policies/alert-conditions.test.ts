// Alert conditions the Monitoring API would reject or fail on at `pulumi up`: a metric filter without
// a resource type, and non-PromQL (or validated) conditions on log-based metrics.
import assert from "node:assert/strict";
import { alertConditionResourceType } from "../../policies/rules/alert-condition-resource-type.ts";
import { alertConditionUserMetricPromql } from "../../policies/rules/alert-condition-user-metric-promql.ts";
import type { RegisteredResource } from "../../tools/plan/policy-capture.ts";
import { check, edit, find, MODES, planned, STACKS, T } from "./fixtures.ts";

type Props = Record<string, unknown>;
const policyNamed = (resources: RegisteredResource[], suffix: string) => find(resources, T.alertPolicy, `alerting-policy-${suffix}`);
const conditions = (p: Props) => p.conditions as Props[];
const FN = "phase4-to-phase5-orchestrator";

describe("policies: alert conditions the Monitoring API accepts", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [alertConditionResourceType, alertConditionUserMetricPromql]) {
    it(`${policy.name} is mandatory`, () => assert.equal(policy.enforcementLevel, "mandatory"));
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode)), []);
        });
      }
    }
  }

  describe("alert-condition-resource-type", () => {
    it("reports the uptime condition as it was: metric.type with no resource.type", async () => {
      const resources = await planned("prod");
      const policy = policyNamed(resources, `uptime-${FN}`);
      edit(policy, (p) => {
        const c = conditions(p)[0]!.conditionThreshold as Props;
        c.filter = String(c.filter).replace(' AND resource.type="cloud_run_revision"', "");
      });
      const found = await check(alertConditionResourceType, resources);
      assert.deepEqual(found.map((v) => v.resource), [policy.urn]);
      assert.match(found[0]!.message, /conditionThreshold\.filter names a metric\.type but no resource\.type/);
    });
    it("reports a metric-absence condition and a ratio's denominator filter", async () => {
      const resources = await planned("dev");
      const dlq = policyNamed(resources, "dlq-");
      edit(dlq, (p) => {
        const c = conditions(p)[0]!.conditionThreshold as Props;
        c.denominatorFilter = 'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"';
      });
      const backlog = policyNamed(resources, "unacked-");
      edit(backlog, (p) => {
        p.conditions = [{ displayName: "absent", conditionAbsent: { filter: 'metric.type="run.googleapis.com/request_count"', duration: "300s" } }];
      });
      const found = await check(alertConditionResourceType, resources);
      assert.deepEqual(found.map((v) => v.resource).sort(), [dlq.urn, backlog.urn].sort());
      assert.ok(found.some((v) => /denominatorFilter/.test(v.message)));
      assert.ok(found.some((v) => /conditionAbsent\.filter/.test(v.message)));
    });
    it("accepts a compliant condition written the other way round, and ignores filters without a metric.type", async () => {
      const resources = await planned("dev");
      edit(policyNamed(resources, `5xx-${FN}`), (p) => {
        const c = conditions(p)[0]!.conditionThreshold as Props;
        c.filter = 'metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision"';
      });
      edit(policyNamed(resources, "unacked-"), (p) => {
        (conditions(p)[0]!.conditionThreshold as Props).filter = 'resource.labels.subscription_id="x"';
      });
      assert.deepEqual(await check(alertConditionResourceType, resources), []);
    });
  });

  describe("alert-condition-user-metric-promql", () => {
    const userFilter = 'metric.type="logging.googleapis.com/user/dual_write_failures" AND resource.type="cloud_run_revision"';
    it("reports a threshold condition on a log-based metric (the dual-write alert as it was)", async () => {
      const resources = await planned("staging");
      const policy = policyNamed(resources, "dual-write-fallback");
      edit(policy, (p) => {
        p.conditions = [{ displayName: "fallbacks", conditionThreshold: { filter: userFilter, comparison: "COMPARISON_GT", thresholdValue: 5, duration: "0s" } }];
      });
      const found = await check(alertConditionUserMetricPromql, resources);
      assert.deepEqual(found.map((v) => v.resource), [policy.urn]);
      assert.match(found[0]!.message, /conditionThreshold on a log-based metric fails with 404/);
    });
    it("reports a metric-absence condition on a log-based metric (the stall alert as it was)", async () => {
      const resources = await planned("staging");
      const policy = policyNamed(resources, "stalled-phase2-to-phase3");
      edit(policy, (p) => {
        p.conditions = [{ displayName: "stalled", conditionAbsent: { filter: userFilter.replace("dual_write_failures", "triggers_published"), duration: "3600s" } }];
      });
      const found = await check(alertConditionUserMetricPromql, resources);
      assert.deepEqual(found.map((v) => v.resource), [policy.urn]);
      assert.match(found[0]!.message, /conditionAbsent/);
    });
    it("reports an MQL condition on a log-based metric", async () => {
      const resources = await planned("prod");
      const policy = policyNamed(resources, "dual-write-fallback");
      edit(policy, (p) => {
        p.conditions = [{ displayName: "mql", conditionMonitoringQueryLanguage: { query: "fetch cloud_run_revision | metric 'logging.googleapis.com/user/dual_write_failures'", duration: "0s" } }];
      });
      const found = await check(alertConditionUserMetricPromql, resources);
      assert.deepEqual(found.map((v) => v.resource), [policy.urn]);
      assert.match(found[0]!.message, /MQL/);
    });
    for (const value of [undefined, false]) {
      it(`reports a PromQL condition on a log-based metric with disableMetricValidation ${String(value)}`, async () => {
        const resources = await planned("prod");
        const policy = policyNamed(resources, "silent-phase-sweeper");
        edit(policy, (p) => {
          const q = conditions(p)[0]!.conditionPrometheusQueryLanguage as Props;
          if (value === undefined) delete q.disableMetricValidation;
          else q.disableMetricValidation = value;
        });
        const found = await check(alertConditionUserMetricPromql, resources);
        assert.deepEqual(found.map((v) => v.resource), [policy.urn]);
        assert.match(found[0]!.message, /without disableMetricValidation: true/);
      });
    }
    it("accepts a PromQL condition on a system metric with validation on, and a threshold on a system metric", async () => {
      const resources = await planned("prod");
      edit(policyNamed(resources, "silent-phase-sweeper"), (p) => {
        p.conditions = [{ displayName: "x", conditionPrometheusQueryLanguage: { query: 'up{monitored_resource="cloud_run_revision"} == 0', duration: "0s" } }];
      });
      assert.deepEqual(await check(alertConditionUserMetricPromql, resources), []);
    });
  });
});

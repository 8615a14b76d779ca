import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_ABSENCE_SECONDS, pipelineStalledCondition } from "../../infra/alerting/conditions.ts";
import { BOTH_STORES_FAILED_FILTER, LOG_METRICS } from "../../infra/alerting/log-metrics.ts";
import { LOG_EVENTS, LOG_FIELDS } from "../../functions/core/log-events.ts";
import { ackDeadlineFor, MAX_ACK_DEADLINE_SECONDS } from "../../infra/components/push-subscription.ts";

describe("alert conditions and delivery parameters", () => {
  it("stalled pipeline: metric absence up to Cloud Monitoring's 24.5 h limit, the same absence in PromQL beyond", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 200, noNaN: true }), (hours) => {
        const c = pipelineStalledCondition("phase2-to-phase3", 3, hours);
        const absent = c.conditionAbsent as { duration: string; filter: string } | undefined;
        const promql = c.conditionPrometheusQueryLanguage as { query: string } | undefined;
        if (hours * 3600 <= MAX_ABSENCE_SECONDS) {
          assert.ok(absent !== undefined && promql === undefined);
          const seconds = Number(absent.duration.replace(/s$/, ""));
          assert.ok(seconds % 60 === 0 && seconds >= hours * 3600 && seconds - hours * 3600 < 60);
          assert.match(absent.filter, /user\/triggers_published.*transition="phase2-to-phase3"/);
        } else {
          assert.ok(promql !== undefined && absent === undefined);
          const m = /\[(\d+)m\]\)$/.exec(promql.query);
          assert.ok(m !== null);
          assert.ok(Number(m[1]) * 60 >= hours * 3600);
          assert.match(promql.query, /^absent_over_time\(logging_googleapis_com:user_triggers_published\{.*transition="phase2-to-phase3"/);
        }
      }),
    );
  });

  it("ack deadline: never below the function timeout, never above Pub/Sub's 600 s", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_ACK_DEADLINE_SECONDS }), (timeout) => {
        const d = ackDeadlineFor(timeout);
        assert.ok(d >= timeout && d >= 10 && d <= MAX_ACK_DEADLINE_SECONDS);
      }),
    );
    assert.throws(() => ackDeadlineFor(601), /exceeds/);
  });

  it("metric filters name the runtime's events and fields", () => {
    assert.match(LOG_METRICS.dualWriteFailures.filter, new RegExp(`jsonPayload.event="${LOG_EVENTS.dualWriteFailed}"`));
    assert.ok(LOG_METRICS.dualWriteFailures.labels.some((l) => l.extractor === `EXTRACT(jsonPayload.${LOG_FIELDS.store})`));
    assert.match(LOG_METRICS.triggersPublished.filter, new RegExp(`"${LOG_EVENTS.triggerPublished}"`));
    assert.deepEqual(
      LOG_METRICS.triggersPublished.labels.map((l) => l.key),
      [LOG_FIELDS.transition, LOG_FIELDS.phase],
    );
    assert.match(BOTH_STORES_FAILED_FILTER, /both_stores_failed.*severity>=CRITICAL/);
  });
});

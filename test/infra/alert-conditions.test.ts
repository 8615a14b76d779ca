import assert from "node:assert/strict";
import fc from "fast-check";
import {
  alertNotDeliveredCondition,
  dualWriteFallbackCondition,
  MAX_ABSENCE_SECONDS,
  phaseStalledLoggedCondition,
  pipelineStalledCondition,
  SCHEDULED_JOB_ABSENCE_PERIODS,
  scheduledJobSilentCondition,
  uptimeFailedCondition,
} from "../../infra/alerting/conditions.ts";
import {
  ALERT_NOT_DELIVERED_FILTER,
  BOTH_STORES_FAILED_FILTER,
  LOG_METRICS,
  PHASE_STALLED_FILTER,
  promQlMetricName,
  SCHEDULED_COMPLETION_METRICS,
  userMetricPromQl,
} from "../../infra/alerting/log-metrics.ts";
import { CronPeriodError, maxCronIntervalSeconds } from "../../infra/alerting/schedule-period.ts";
import { SCHEDULED_FUNCTIONS } from "../../infra/function-registry.ts";
import { LOG_EVENT_SEVERITY, LOG_EVENTS, LOG_FIELDS } from "../../functions/core/log-events.ts";
import { SCHEDULED_LOG_EVENTS } from "../../functions/core/scheduled-config.ts";
import { ackDeadlineFor, MAX_ACK_DEADLINE_SECONDS } from "../../infra/components/push-subscription.ts";

describe("alert conditions and delivery parameters", () => {
  type PromQl = { query: string; duration: string; evaluationInterval: string; disableMetricValidation: boolean };
  const promqlOf = (c: ReturnType<typeof pipelineStalledCondition>): PromQl => {
    assert.equal(c.conditionThreshold, undefined);
    assert.equal(c.conditionAbsent, undefined);
    return c.conditionPrometheusQueryLanguage as PromQl;
  };
  /** Minutes of absence a PromQL absence condition waits for: the query range plus the duration. */
  const absenceMinutes = (p: PromQl): { range: number; duration: number } => {
    const m = /^absent_over_time\(.*\[(\d+)m\]\)$/.exec(p.query);
    assert.ok(m !== null, p.query);
    return { range: Number(m[1]), duration: Number(p.duration.replace(/s$/, "")) / 60 };
  };

  it("stalled pipeline: PromQL absence over the whole window (range + duration), validation off, half of it as grace after creation", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 200, noNaN: true }), (hours) => {
        const p = promqlOf(pipelineStalledCondition("phase2-to-phase3", 3, hours));
        assert.equal(p.disableMetricValidation, true);
        const { range, duration } = absenceMinutes(p);
        const total = (range + duration) * 60;
        assert.ok(total >= hours * 3600 && total - hours * 3600 < 60, `${range}m + ${duration}m for ${hours}h`);
        assert.ok(range >= 1 && Number.isInteger(duration) && duration >= 1 && duration * 60 <= MAX_ABSENCE_SECONDS);
        assert.match(p.query, /^absent_over_time\(logging_googleapis_com:user_triggers_published\{monitored_resource="cloud_run_revision",transition="phase2-to-phase3"\}/);
      }),
    );
    assert.throws(() => pipelineStalledCondition("phase2-to-phase3", 3, 0.01), /2-minute minimum/);
  });

  it("uptime condition names the Cloud Run revision resource its checks write against", () => {
    const filter = (uptimeFailedCondition("check-1", "fn").conditionThreshold as { filter: string }).filter;
    assert.match(filter, /metric\.type="monitoring\.googleapis\.com\/uptime_check\/check_passed"/);
    assert.match(filter, /resource\.type="cloud_run_revision"/);
    assert.match(filter, /metric\.labels\.check_id="check-1"/);
  });

  it("dual-write fallbacks: PromQL over the log-based metric with metric validation off", () => {
    const p = promqlOf(dualWriteFallbackCondition(7));
    assert.equal(p.disableMetricValidation, true);
    assert.equal(p.query, 'sum by (store) (increase(logging_googleapis_com:user_dual_write_failures{monitored_resource="cloud_run_revision"}[1h])) > 7');
  });

  it("PromQL names of Monitoring metrics follow Cloud Monitoring's mapping (its documented examples)", () => {
    assert.equal(promQlMetricName("kubernetes.io/container/cpu/limit_cores"), "kubernetes_io:container_cpu_limit_cores");
    assert.equal(promQlMetricName("compute.googleapis.com/instance/cpu/utilization"), "compute_googleapis_com:instance_cpu_utilization");
    assert.equal(promQlMetricName("logging.googleapis.com/log_entry_count"), "logging_googleapis_com:log_entry_count");
    assert.equal(userMetricPromQl("sweep_completions"), "logging_googleapis_com:user_sweep_completions");
  });

  it("schedule period: the longest gap between firings of a cron expression", () => {
    assert.equal(maxCronIntervalSeconds("*/10 * * * *"), 600);
    assert.equal(maxCronIntervalSeconds("17 * * * *"), 3600);
    assert.equal(maxCronIntervalSeconds("0 6 * * *"), 86400);
    assert.equal(maxCronIntervalSeconds("0,45 * * * *"), 45 * 60);
    assert.equal(maxCronIntervalSeconds("0 9-17 * * 1-5"), (24 - 17 + 9) * 3600 + 2 * 86400, "Friday 17:00 to Monday 09:00");
    assert.equal(maxCronIntervalSeconds("30 2 * * 0"), maxCronIntervalSeconds("30 2 * * 7"));
    for (const bad of ["* * *", "0 0 1 * *", "61 * * * *", "x * * * *", "*/0 * * * *"]) {
      assert.throws(() => maxCronIntervalSeconds(bad), CronPeriodError, bad);
    }
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 59 }), (step) => {
        // Every `step` minutes within the hour, then the wrap to the next hour's minute 0.
        const lastInHour = Math.floor(59 / step) * step;
        assert.equal(maxCronIntervalSeconds(`*/${step} * * * *`), Math.max(step, 60 - lastInHour) * 60);
      }),
    );
  });

  it("scheduled jobs: every registered job has a completion metric and a stop window of a few of its periods", () => {
    for (const job of SCHEDULED_FUNCTIONS) {
      const key = SCHEDULED_COMPLETION_METRICS[job.target];
      assert.ok(key !== undefined, `${job.name} has a completion metric`);
      const period = maxCronIntervalSeconds(job.schedule);
      const p = promqlOf(scheduledJobSilentCondition(job.name, LOG_METRICS[key].name, period));
      assert.equal(p.disableMetricValidation, true);
      const { range, duration } = absenceMinutes(p);
      assert.equal((range + duration) * 60, SCHEDULED_JOB_ABSENCE_PERIODS * period);
      assert.ok(duration * 60 >= period, "a new policy waits at least one period for the first run");
      assert.match(p.query, new RegExp(`logging_googleapis_com:user_${LOG_METRICS[key].name}\\{monitored_resource="cloud_run_revision"\\}`));
    }
    // The sweeper (every 10 min) is missed after 30 min, the reconciler (hourly) after 3 h.
    assert.equal(maxCronIntervalSeconds(SCHEDULED_FUNCTIONS.find((f) => f.target === "sweep")!.schedule) * SCHEDULED_JOB_ABSENCE_PERIODS, 1800);
    assert.equal(maxCronIntervalSeconds(SCHEDULED_FUNCTIONS.find((f) => f.target === "reconcile")!.schedule) * SCHEDULED_JOB_ABSENCE_PERIODS, 3 * 3600);
  });

  it("log-match conditions filter on the runtime's events at their severities", () => {
    const stalled = (phaseStalledLoggedCondition().conditionMatchedLog as { filter: string }).filter;
    assert.equal(stalled, PHASE_STALLED_FILTER);
    assert.match(stalled, new RegExp(`jsonPayload.event="${LOG_EVENTS.phaseStalled}" AND severity>=${LOG_EVENT_SEVERITY[LOG_EVENTS.phaseStalled]}`));
    const notDelivered = (alertNotDeliveredCondition().conditionMatchedLog as { filter: string }).filter;
    assert.equal(notDelivered, ALERT_NOT_DELIVERED_FILTER);
    assert.match(notDelivered, new RegExp(`jsonPayload.event="${LOG_EVENTS.alertNotDelivered}" AND severity>=${LOG_EVENT_SEVERITY[LOG_EVENTS.alertNotDelivered]}`));
  });

  it("the scheduled jobs' events in the shared log contract are the names the jobs write", () => {
    assert.equal(LOG_EVENTS.sweepCompleted, SCHEDULED_LOG_EVENTS.sweepCompleted);
    assert.equal(LOG_EVENTS.reconcileCompleted, SCHEDULED_LOG_EVENTS.reconcileCompleted);
    assert.equal(LOG_EVENTS.phaseStalled, SCHEDULED_LOG_EVENTS.phaseStalled);
    assert.match(LOG_METRICS.sweepCompletions.filter, new RegExp(`jsonPayload.event="${LOG_EVENTS.sweepCompleted}"`));
    assert.match(LOG_METRICS.reconcileCompletions.filter, new RegExp(`jsonPayload.event="${LOG_EVENTS.reconcileCompleted}"`));
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

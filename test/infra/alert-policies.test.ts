// The alerting plan as data: inputs -> alert policy specs, one row per kind of policy, and the rows
// that must refuse. The component only declares these (test/infra/stacks.test.ts checks a planned
// stack has exactly these policies, each with its channel).
import assert from "node:assert/strict";
import {
  alertNotDeliveredCondition,
  bothStoresFailedCondition,
  deadLettersCondition,
  dualWriteFallbackCondition,
  function5xxCondition,
  LOG_MATCH_ALERT_STRATEGY,
  oldestUnackedCondition,
  PHASE_STALLED_ALERT_STRATEGY,
  phaseStalledLoggedCondition,
  pipelineStalledCondition,
  scheduledJobSilentCondition,
  uptimeFailedCondition,
} from "../../infra/alerting/conditions.ts";
import { alertPolicies, boundCondition } from "../../infra/alerting/policies.ts";
import type { AlertPoliciesInput, AlertPolicySpec, PendingCondition } from "../../infra/alerting/policies.ts";

const INPUT: AlertPoliciesInput = {
  thresholds: { fiveXxPerFiveMinutes: 7, unackedAgeSeconds: 900, dualWriteFailuresPerHour: 4 },
  functions: [{ name: "p2-orch" }, { name: "phase-sweeper", scheduled: { schedule: "*/10 * * * *", target: "sweep" } }],
  subscriptions: [{ subscriptionName: "in-push-sub", deadLetterSubscriptionName: "in-dlq-sub", functionName: "p2-orch" }],
  transitions: [{ id: "phase2-to-phase3", toPhase: 3, absenceAlertHours: 30 }],
};

const complete = (condition: ReturnType<typeof bothStoresFailedCondition>) => ({ kind: "complete" as const, condition });

/** One row per kind of policy: its key in INPUT's plan and the whole spec expected. */
const ROWS: { kind: string; expected: AlertPolicySpec }[] = [
  {
    kind: "function 5xx",
    expected: {
      key: "5xx-p2-orch",
      title: "p2-orch returns 5xx",
      severity: "ERROR",
      channel: "errors",
      runbook: "function5xx",
      conditions: [{ kind: "function5xx", functionName: "p2-orch", threshold: 7 }],
      after: [],
    },
  },
  {
    kind: "uptime check failing",
    expected: {
      key: "uptime-phase-sweeper",
      title: "phase-sweeper /health failing",
      severity: "ERROR",
      channel: "errors",
      runbook: "uptimeFailed",
      conditions: [{ kind: "uptimeFailed", functionName: "phase-sweeper" }],
      after: [],
    },
  },
  {
    kind: "push backlog",
    expected: {
      key: "unacked-in-push-sub",
      title: "in-push-sub: deliveries to p2-orch are backing up",
      severity: "WARNING",
      channel: "warnings",
      runbook: "pushBacklog",
      conditions: [complete(oldestUnackedCondition("in-push-sub", 900))],
      after: [{ kind: "subscription", name: "in-push-sub" }],
    },
  },
  {
    kind: "dead letters",
    expected: {
      key: "dlq-in-dlq-sub",
      title: "in-dlq-sub: dead letters for p2-orch",
      severity: "ERROR",
      channel: "errors",
      runbook: "deadLetters",
      conditions: [complete(deadLettersCondition("in-dlq-sub"))],
      after: [{ kind: "subscription", name: "in-push-sub" }],
    },
  },
  {
    kind: "pipeline stalled",
    expected: {
      key: "stalled-phase2-to-phase3",
      title: "Pipeline stalled: no phase 3 trigger (phase2-to-phase3) within 30h",
      severity: "ERROR",
      channel: "errors",
      runbook: "pipelineStalled",
      conditions: [complete(pipelineStalledCondition("phase2-to-phase3", 3, 30))],
      after: [{ kind: "logMetric", key: "triggersPublished" }],
    },
  },
  {
    kind: "both stores failed (log match)",
    expected: {
      key: "both-stores-failed",
      title: "Both stores failed: a completion was not recorded",
      severity: "CRITICAL",
      channel: "errors",
      runbook: "bothStoresFailed",
      conditions: [complete(bothStoresFailedCondition())],
      strategy: LOG_MATCH_ALERT_STRATEGY,
      after: [],
    },
  },
  {
    kind: "dual-write fallback rate",
    expected: {
      key: "dual-write-fallback",
      title: "Dual-write fallbacks above 4 per hour",
      severity: "WARNING",
      channel: "warnings",
      runbook: "dualWriteFallback",
      conditions: [complete(dualWriteFallbackCondition(4))],
      after: [{ kind: "logMetric", key: "dualWriteFailures" }],
    },
  },
  {
    kind: "scheduled job silent",
    expected: {
      key: "silent-phase-sweeper",
      title: "phase-sweeper stopped: no completed run within 30 min",
      severity: "ERROR",
      channel: "errors",
      runbook: "scheduledJobSilent",
      conditions: [complete(scheduledJobSilentCondition("phase-sweeper", "sweep_completions", 600))],
      after: [{ kind: "logMetric", key: "sweepCompletions" }],
    },
  },
  {
    kind: "phase stalled (sweeper, log match, off Slack)",
    expected: {
      key: "phase-stalled-logged",
      title: "A phase is stalled (sweeper)",
      severity: "ERROR",
      channel: "independent",
      runbook: "phaseStalled",
      conditions: [complete(phaseStalledLoggedCondition())],
      strategy: PHASE_STALLED_ALERT_STRATEGY,
      after: [],
    },
  },
  {
    kind: "alert not delivered (log match, off Slack)",
    expected: {
      key: "alert-not-delivered",
      title: "A Slack alert could not be delivered",
      severity: "ERROR",
      channel: "independent",
      runbook: "alertNotDelivered",
      conditions: [complete(alertNotDeliveredCondition())],
      strategy: LOG_MATCH_ALERT_STRATEGY,
      after: [],
    },
  },
];

describe("alert policies (pure)", () => {
  const specs = alertPolicies(INPUT);
  const byKey = new Map(specs.map((s) => [s.key, s]));

  for (const { kind, expected } of ROWS) {
    it(`${kind}: ${expected.key}`, () => {
      assert.deepEqual(byKey.get(expected.key), expected);
    });
  }

  it("the plan is exactly: per function 5xx + uptime, per subscription backlog + dead letters, per transition a stall alert, per scheduled job a stop alert, and the four stack-wide ones", () => {
    assert.deepEqual(
      specs.map((s) => s.key),
      [
        "5xx-p2-orch",
        "uptime-p2-orch",
        "5xx-phase-sweeper",
        "uptime-phase-sweeper",
        "unacked-in-push-sub",
        "dlq-in-dlq-sub",
        "stalled-phase2-to-phase3",
        "both-stores-failed",
        "dual-write-fallback",
        "silent-phase-sweeper",
        "phase-stalled-logged",
        "alert-not-delivered",
      ],
    );
  });

  it("a Slack channel by severity: WARNING to warnings, ERROR and CRITICAL to errors; only the alerts about Slack itself go elsewhere", () => {
    for (const s of specs) {
      const slack = s.severity === "WARNING" ? "warnings" : "errors";
      const offSlack = s.key === "phase-stalled-logged" || s.key === "alert-not-delivered";
      assert.equal(s.channel, offSlack ? "independent" : slack, s.key);
    }
  });

  const REFUSED: { what: string; functions: AlertPoliciesInput["functions"]; error: RegExp }[] = [
    {
      what: "a scheduled job whose entry logs no completion event",
      functions: [{ name: "phase-cleaner", scheduled: { schedule: "0 * * * *", target: "clean" } }],
      error: /scheduled function phase-cleaner \(target clean\) logs no completion event the stop alert could count/,
    },
    {
      what: "a scheduled job without a schedule",
      functions: [{ name: "phase-sweeper", scheduled: { schedule: undefined, target: "sweep" } }],
      error: /scheduled function phase-sweeper has no schedule/,
    },
    {
      what: "a scheduled job with a schedule no period can be read from",
      functions: [{ name: "phase-sweeper", scheduled: { schedule: "0 0 1 * *", target: "sweep" } }],
      error: /cannot size an alert from the schedule/,
    },
  ];
  for (const { what, functions, error } of REFUSED) {
    it(`refuses ${what}`, () => {
      assert.throws(() => alertPolicies({ ...INPUT, functions }), error);
    });
  }

  const BOUND: { spec: PendingCondition; value: string; expected: ReturnType<typeof function5xxCondition> }[] = [
    { spec: { kind: "function5xx", functionName: "p2-orch", threshold: 7 }, value: "p2-orch-svc", expected: function5xxCondition("p2-orch-svc", 7) },
    { spec: { kind: "uptimeFailed", functionName: "p2-orch" }, value: "check-42", expected: uptimeFailedCondition("check-42", "p2-orch") },
  ];
  for (const { spec, value, expected } of BOUND) {
    it(`binds a ${spec.kind} condition to its deployed value`, () => {
      assert.deepEqual(boundCondition(spec, value), expected);
    });
  }
});

// Pure parts of the local stack: reading the program's declarations (and rejecting wiring mistakes the
// cloud would reject), the Pub/Sub request and its read-back check, flags, dates and the verdict.
import assert from "node:assert/strict";
import type { DeclaredResource } from "../../tools/plan/mocks.ts";
import { localPlanOf, TYPES, WiringError } from "../../tools/local-stack/declared.ts";
import { subscriptionDrift, subscriptionRequest, tableOptions } from "../../tools/local-stack/provision.ts";
import { FAULT_NAMES, parseCliArgs, UsageError } from "../../tools/local-stack/args.ts";
import { gameDates } from "../../tools/local-stack/messages.ts";
import { judge, type Observations } from "../../tools/local-stack/report.ts";

const P = "demo-proj";
const R = "us-west2";
const HASH = "b".repeat(64);

/** The resources one transition declares, shaped as the offline evaluation records them. */
function declared(): DeclaredResource[] {
  const r = (type: string, name: string, inputs: Record<string, unknown>): DeclaredResource => ({ type, name, inputs, custom: true });
  return [
    r(TYPES.topic, "in", { name: "nba-phase2-raw-complete" }),
    r(TYPES.topic, "out", { name: "nba-phase3-trigger" }),
    r(TYPES.topic, "dlq", { name: "nba-phase2-raw-complete-dlq" }),
    r(TYPES.bucketObject, "src", { name: `fn/${HASH}.zip`, source: { asset: "FileAsset", path: `dist/functions/fn/${HASH}.zip` } }),
    r(TYPES.function, "fn", {
      name: "phase2-to-phase3-orchestrator",
      location: R,
      buildConfig: { entryPoint: "orchestrate", runtime: "nodejs22", source: { storageSource: { bucket: "b", object: `fn/${HASH}.zip` } } },
      serviceConfig: {
        timeoutSeconds: 300,
        environmentVariables: { CODE_HASH: HASH, TRANSITION_ID: "phase2-to-phase3" },
        secretEnvironmentVariables: [{ key: "SLACK_WEBHOOK_URL", secret: "slack-webhook-url", projectId: P, version: "1" }],
      },
    }),
    r(TYPES.subscription, "push", {
      name: "nba-phase2-raw-complete-push-sub",
      topic: `projects/${P}/topics/nba-phase2-raw-complete`,
      ackDeadlineSeconds: 300,
      messageRetentionDuration: "604800s",
      pushConfig: { pushEndpoint: `https://phase2-to-phase3-orchestrator-mock-${R}.a.run.app`, oidcToken: { serviceAccountEmail: "x@y", audience: "z" } },
      retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" },
      deadLetterPolicy: { deadLetterTopic: `projects/${P}/topics/nba-phase2-raw-complete-dlq`, maxDeliveryAttempts: 10 },
    }),
    r(TYPES.dataset, "ds", { datasetId: "nba_orchestration", location: "US" }),
    r(TYPES.table, "t", {
      datasetId: "nba_orchestration",
      tableId: "phase_completions",
      schema: JSON.stringify([{ name: "phase", type: "STRING", mode: "REQUIRED" }]),
      timePartitioning: { type: "DAY", field: "game_date" },
      clusterings: ["phase"],
    }),
  ];
}

function mutate(resources: DeclaredResource[], name: string, change: (inputs: Record<string, unknown>) => void): DeclaredResource[] {
  return resources.map((r) => {
    if (r.name !== name) return r;
    const inputs = structuredClone(r.inputs);
    change(inputs);
    return { ...r, inputs };
  });
}

function wiringProblems(resources: DeclaredResource[]): string[] {
  try {
    localPlanOf("dev", P, R, resources);
  } catch (error) {
    if (error instanceof WiringError) return error.problems;
    throw error;
  }
  assert.fail("expected a WiringError");
}

describe("local stack: what the program declares", () => {
  it("resolves the push endpoint to the declared function and keeps every delivery setting as declared", () => {
    const plan = localPlanOf("dev", P, R, declared());
    const push = plan.subscriptions.find((s) => s.name === "nba-phase2-raw-complete-push-sub")!;
    assert.equal(push.pushTo, "phase2-to-phase3-orchestrator");
    assert.equal(push.ackDeadlineSeconds, 300);
    assert.deepEqual(push.retry, { minimumBackoffSeconds: 10, maximumBackoffSeconds: 600 });
    assert.deepEqual(push.deadLetter, { topic: "nba-phase2-raw-complete-dlq", maxDeliveryAttempts: 10 });
    const fn = plan.functions[0]!;
    assert.equal(fn.archive, `dist/functions/fn/${HASH}.zip`);
    assert.deepEqual(fn.secretEnvironment, { SLACK_WEBHOOK_URL: "slack-webhook-url" });
    assert.equal(fn.codeHash, HASH);
  });

  it("a subscription on a topic the program does not declare fails, naming it", () => {
    const problems = wiringProblems(mutate(declared(), "push", (i) => (i.topic = `projects/${P}/topics/nba-phase2-raw-completed`)));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /nba-phase2-raw-complete-push-sub topic is nba-phase2-raw-completed, a topic the program does not declare/);
  });

  it("a subscription's topic given by bare name (as the shadow taps declare it) is the same project's topic; a dead-letter topic must be a full id", () => {
    const bare = mutate(declared(), "push", (i) => (i.topic = "nba-phase2-raw-complete"));
    assert.equal(localPlanOf("dev", P, R, bare).subscriptions.find((s) => s.name === "nba-phase2-raw-complete-push-sub")!.topic, "nba-phase2-raw-complete");
    assert.match(wiringProblems(mutate(declared(), "push", (i) => (i.topic = "nba-phase2-raw-completed"))).join("\n"), /topic is nba-phase2-raw-completed, a topic the program does not declare/);
    const bareDlq = mutate(declared(), "push", (i) => ((i.deadLetterPolicy as Record<string, unknown>).deadLetterTopic = "nba-phase2-raw-complete-dlq"));
    assert.match(wiringProblems(bareDlq).join("\n"), /deadLetterTopic is "nba-phase2-raw-complete-dlq", not a topic id/);
  });

  it("a dead-letter topic that is not declared, and a push endpoint that is no function's URL, are both reported", () => {
    let resources = mutate(declared(), "push", (i) => {
      (i.deadLetterPolicy as Record<string, unknown>).deadLetterTopic = `projects/${P}/topics/missing-dlq`;
      (i.pushConfig as Record<string, unknown>).pushEndpoint = "https://hard-coded.example.com/fn";
    });
    resources = resources.filter((r) => r.name !== "dlq");
    const problems = wiringProblems(resources);
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.ok(problems.some((p) => /deadLetterTopic is missing-dlq, a topic the program does not declare/.test(p)));
    assert.ok(problems.some((p) => /pushEndpoint is "https:\/\/hard-coded.example.com\/fn", which is no declared function's URL/.test(p)));
  });

  it("a topic in another project and a table in an undeclared dataset are wiring mistakes", () => {
    let resources = mutate(declared(), "push", (i) => (i.topic = `projects/other-proj/topics/nba-phase2-raw-complete`));
    resources = mutate(resources, "t", (i) => (i.datasetId = "nba_orchestation"));
    const problems = wiringProblems(resources);
    assert.ok(problems.some((p) => /in project other-proj, but the stack's project is demo-proj/.test(p)));
    assert.ok(problems.some((p) => p === 'table phase_completions is in dataset "nba_orchestation", which the program does not declare'), problems.join("\n"));
  });

  it("a function whose source object is not declared fails", () => {
    const problems = wiringProblems(declared().filter((r) => r.name !== "src"));
    assert.match(problems.join("\n"), /function phase2-to-phase3-orchestrator: its source object .* is not a declared bucket object/);
  });

  it("the emulator request carries the declared settings with a local endpoint and no OIDC token; read-back differences are named", () => {
    const plan = localPlanOf("dev", P, R, declared());
    const push = plan.subscriptions[0]!;
    const endpoint = "http://127.0.0.1:5555/";
    const req = subscriptionRequest(P, push, () => endpoint);
    assert.deepEqual(req.pushConfig, { pushEndpoint: endpoint });
    assert.deepEqual(req.retryPolicy, { minimumBackoff: { seconds: 10, nanos: 0 }, maximumBackoff: { seconds: 600, nanos: 0 } });
    assert.deepEqual(req.deadLetterPolicy, { deadLetterTopic: `projects/${P}/topics/nba-phase2-raw-complete-dlq`, maxDeliveryAttempts: 10 });
    assert.equal(req.ackDeadlineSeconds, 300);
    const asEmulatorHasIt = { ...req, topic: `projects/${P}/topics/nba-phase2-raw-complete`, retryPolicy: { minimumBackoff: { seconds: "10" }, maximumBackoff: { seconds: "600" } } };
    assert.deepEqual(subscriptionDrift(P, push, endpoint, asEmulatorHasIt), []);
    const drift = subscriptionDrift(P, push, endpoint, { ...asEmulatorHasIt, ackDeadlineSeconds: 10, deadLetterPolicy: null });
    assert.equal(drift.length, 3, drift.join("\n"));
    assert.match(drift.join("\n"), /ackDeadlineSeconds: declared 300, emulator has 10/);
  });

  it("tables keep the declared schema, partitioning and clustering", () => {
    const plan = localPlanOf("dev", P, R, declared());
    assert.deepEqual(tableOptions(plan.tables[0]!), {
      schema: { fields: [{ name: "phase", type: "STRING", mode: "REQUIRED" }] },
      timePartitioning: { type: "DAY", field: "game_date" },
      clustering: { fields: ["phase"] },
    });
  });
});

describe("local stack: flags, dates and verdict", () => {
  it("parses flags with defaults and rejects what it does not know", () => {
    const none = { shadow: false, shadowDisagree: [] };
    assert.deepEqual(parseCliArgs([]), { stack: "dev", dates: 1, instances: 1, faults: [], ...none, keepRunning: false, json: false, help: false });
    const o = parseCliArgs(["--stack", "staging", "--dates", "3", "--instances", "3", "--fault", "malformed", "--fault", "slack-down", "--json", "--keep-running"]);
    assert.deepEqual(o, { stack: "staging", dates: 3, instances: 3, faults: ["malformed", "slack-down"], ...none, keepRunning: true, json: true, help: false });
    for (const bad of [["--fault", "disk-full"], ["--dates", "0"], ["--dates", "1.5"], ["--dates", "99"], ["--stack", "../x"], ["--verbose"], ["extra"], ["--instances", "0"], ["--instances", "2.5"], ["--instances", "x"], ["--instances", "99"], ["--instances"]]) {
      assert.throws(() => parseCliArgs(bad), UsageError, bad.join(" "));
    }
    assert.throws(() => parseCliArgs(["--instances", "0"]), /--instances must be a whole number 1\.\.8, got "0"/);
    assert.deepEqual([...FAULT_NAMES].sort(), ["bigquery-down", "crash-before-publish", "firestore-down", "malformed", "pubsub-publish", "slack-down"]);
  });

  it("game dates are yesterday and the days before it in the pipeline's zone", () => {
    // 02:00 UTC on Nov 30 is still Nov 29 in New York.
    assert.deepEqual(gameDates(3, new Date("2026-11-30T02:00:00Z"), "America/New_York"), ["2026-11-28", "2026-11-27", "2026-11-26"]);
    assert.deepEqual(gameDates(1, new Date("2026-03-01T12:00:00Z"), "UTC", 2), ["2026-02-26"]);
  });

  const observed = (over: Partial<Observations> = {}): Observations => ({
    stack: "dev",
    dates: ["2026-11-28"],
    transitions: ["a", "b"],
    triggers: [
      { transition: "a", gameDate: "2026-11-28", count: 1, deliveries: 2, seconds: 1 },
      { transition: "b", gameDate: "2026-11-28", count: 1, deliveries: 1, seconds: 1 },
    ],
    completions: { published: 6, duplicatesPublished: 1, firestore: 6, bigquery: 6 },
    deadLettered: 0,
    deadLetters: [],
    quarantined: 0,
    expectedQuarantined: 0,
    pendingTriggers: [],
    alerts: 0,
    alertsRefused: 0,
    alertsAfterHeal: 0,
    faults: [],
    faultChecks: [],
    localOverrides: [],
    notes: [],
    durationSeconds: 3,
    timedOut: false,
    ...over,
  });

  it("ok only with exactly one trigger per transition and date and nothing lost", () => {
    assert.equal(judge(observed()).ok, true);
    const twice = judge(observed({ triggers: [{ transition: "a", gameDate: "2026-11-28", count: 2, deliveries: 2, seconds: 1 }] }));
    assert.equal(twice.ok, false);
    assert.deepEqual(twice.problems, ["a 2026-11-28: triggered 2 times, expected exactly once", "b 2026-11-28: triggered 0 times, expected exactly once"]);
    assert.match(judge(observed({ completions: { published: 6, duplicatesPublished: 0, firestore: 6, bigquery: 5 } })).problems.join(), /6 published, 5 rows in BigQuery/);
    assert.match(judge(observed({ deadLettered: 1 })).problems.join(), /1 message\(s\) dead-lettered/);
    assert.match(judge(observed({ quarantined: 2, expectedQuarantined: 3 })).problems.join(), /2 message\(s\) quarantined, expected 3/);
    assert.match(judge(observed({ pendingTriggers: ["a:2026-11-28:daily"] })).problems.join(), /still pending/);
    assert.match(judge(observed({ faults: [{ name: "bigquery-down", detail: "", injectedAtMs: 0, healedAtMs: null }] })).problems.join(), /never healed/);
  });
});

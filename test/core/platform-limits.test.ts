// The platform's limits are defined once (functions/core/platform-limits.ts), so every place that
// judges a name or a value gives the same verdict: the pipeline model, the stack config, naming,
// the components and the policy pack. Each property generates names or values on both sides of
// each limit and asks every judge.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ACK_DEADLINE_SECONDS,
  DEAD_LETTER_RETENTION_DAYS,
  FUNCTION_NAME_MAX,
  inRange,
  LABEL_VALUE_MAX,
  labelValueProblem,
  MAX_DELIVERY_ATTEMPTS,
  MESSAGE_RETENTION_SECONDS,
} from "../../functions/core/platform-limits.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import type { PipelineConfig } from "../../functions/core/pipeline-types.ts";
import { validatePipelineConfig } from "../../functions/core/pipeline.ts";
import { SHADOW_TOPIC_SUFFIX, shadowTopicName, tapSubscriptionName } from "../../functions/core/trigger-routing.ts";
import { ackDeadlineFor } from "../../infra/components/push-subscription.ts";
import { codeHashLabel, labelValue, Naming, pushSubscriptionName } from "../../infra/naming.ts";
import { parseStackConfig, PROJECT_NAMESPACE } from "../../infra/stack-config.ts";
import { expectedLabel } from "../../policies/rules/function-code-hash-label.ts";
import { pushSubscriptionAckDeadline } from "../../policies/rules/push-subscription-ack-deadline.ts";
import { pushSubscriptionDeadLetter } from "../../policies/rules/push-subscription-dead-letter.ts";
import { pushSubscriptionRetryBackoff } from "../../policies/rules/push-subscription-retry-backoff.ts";
import { readStackFiles } from "../../tools/plan/stack-files.ts";
import { about, check, edit, find, obj, planned, T } from "../policies/fixtures.ts";
import { ROOT } from "../infra/helpers.ts";

const live = new Naming({ project: "my-project-1", environment: "dev" });
const shadow = new Naming({ project: "my-project-1", environment: "dev", functionNameSuffix: SHADOW_TOPIC_SUFFIX });
const accepts = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch (error) {
    // A rejection (NamingError, StackConfigError, ...) is the verdict; anything else is a bug.
    if (error instanceof Error) return false;
    throw error;
  }
};

/** The model's verdict on one field of transitions[i] (other fields stay the defaults). */
function modelAccepts(index: number, field: "functionName" | "inputTopic" | "outputTopic", value: string): boolean {
  const config = structuredClone(DEFAULT_PIPELINE) as PipelineConfig;
  const t = config.transitions[index];
  assert.ok(t);
  t[field] = value;
  return !validatePipelineConfig(config).some((p) => p.startsWith(`transitions[${index}].${field}`));
}

const baseRaw = readStackFiles(ROOT, "dev").config;
const k = (key: string) => `${PROJECT_NAMESPACE}:${key}`;
const configAccepts = (values: Record<string, number>): boolean =>
  accepts(() => parseStackConfig({ ...baseRaw, ...Object.fromEntries(Object.entries(values).map(([key, v]) => [k(key), String(v)])) }));

/** Whether a policy reports anything about the dev stack's first push subscription after `change`. */
async function policyAccepts(policy: Parameters<typeof check>[0], change: (props: Record<string, unknown>, all: Awaited<ReturnType<typeof planned>>) => void): Promise<boolean> {
  const resources = await planned("dev");
  const sub = find(resources, T.subscription, "push-subscription");
  edit(sub, (p) => change(p, resources));
  return about(await check(policy, resources), sub.urn).length === 0;
}

const nameChars = fc.constantFrom(..."abcxyz0189-_AZ.~+% /".split(""));
/** Names of every length near a limit, and short ones (never empty: the model requires every name). */
const namesAround = (limit: number, chars: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.string({ unit: chars, minLength: 1, maxLength: 12 }),
    fc.tuple(fc.integer({ min: Math.max(0, limit - 12), max: limit + 3 }), fc.string({ unit: chars, maxLength: 3 })).map(([n, tail]) => `${"a".repeat(Math.max(0, n - tail.length))}${tail}`),
  );

describe("platform limits: one definition, one verdict", function () {
  this.timeout(180_000);

  describe("function names", () => {
    it("the model accepts a function name exactly when naming accepts it live and in shadow mode (property)", () => {
      const defaults = new Set(DEFAULT_PIPELINE.transitions.map((t) => t.functionName));
      fc.assert(
        fc.property(namesAround(FUNCTION_NAME_MAX, fc.constantFrom(..."abz09-_A".split(""))), (name) => {
          fc.pre(!defaults.has(name));
          const namingVerdict = accepts(() => live.functionName(name)) && accepts(() => shadow.functionName(name));
          assert.equal(modelAccepts(0, "functionName", name), namingVerdict, `"${name}" (${name.length})`);
        }),
        { numRuns: 400 },
      );
    });

    it("at the boundaries: the longest name that fits in shadow mode, one more, Cloud Run's limit, one more", () => {
      const room = FUNCTION_NAME_MAX - SHADOW_TOPIC_SUFFIX.length;
      const name = (n: number) => `f${"a".repeat(n - 1)}`;
      assert.equal(modelAccepts(0, "functionName", name(room)), true);
      assert.equal(accepts(() => shadow.functionName(name(room))), true);
      assert.equal(modelAccepts(0, "functionName", name(room + 1)), false);
      assert.equal(accepts(() => shadow.functionName(name(room + 1))), false);
      assert.equal(accepts(() => live.functionName(name(FUNCTION_NAME_MAX))), true);
      assert.equal(modelAccepts(0, "functionName", name(FUNCTION_NAME_MAX + 1)), false);
      assert.equal(accepts(() => live.functionName(name(FUNCTION_NAME_MAX + 1))), false);
    });
  });

  describe("Pub/Sub names", () => {
    it("the model accepts an input topic exactly when naming accepts it and every name derived from it (property)", () => {
      fc.assert(
        fc.property(namesAround(255 - "nba-".length - "-push-sub".length, nameChars), (topic) => {
          const full = `nba-${topic}`;
          const derived = [full, `${full}-dlq`, `${full}-dlq-sub`, pushSubscriptionName(full)];
          assert.equal(modelAccepts(0, "inputTopic", topic), derived.every((n) => accepts(() => live.pubsub(n))), `"${topic}" (${topic.length})`);
        }),
        { numRuns: 300 },
      );
    });

    it("the model accepts an output topic exactly when naming accepts it, its shadow topic and its tap (property)", () => {
      fc.assert(
        fc.property(namesAround(255 - "nba-".length - SHADOW_TOPIC_SUFFIX.length, nameChars), (topic) => {
          const full = `nba-${topic}`;
          const derived = [full, shadowTopicName(full), tapSubscriptionName(full)];
          assert.equal(modelAccepts(3, "outputTopic", topic), derived.every((n) => accepts(() => live.pubsub(n))), `"${topic}" (${topic.length})`);
        }),
        { numRuns: 300 },
      );
    });

    it("a sport starting with goog is refused by the model and by naming alike", () => {
      const config = { ...structuredClone(DEFAULT_PIPELINE), sport: "googly" };
      assert.ok(validatePipelineConfig(config).some((p) => p.startsWith("sport")));
      assert.equal(accepts(() => live.pubsub("googly-phase3-trigger")), false);
    });
  });

  describe("labels", () => {
    it("naming's label check is the platform rule, and the code-hash label the policy expects passes it (property)", () => {
      fc.assert(
        fc.property(namesAround(LABEL_VALUE_MAX, fc.constantFrom(..."az09-_A. ".split(""))), (value) => {
          assert.equal(accepts(() => live.labels({ role: value })), labelValueProblem(value) === null);
          assert.equal(accepts(() => labelValue(value)), labelValueProblem(value) === null);
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom(..."0123456789abcdef".split("")), minLength: 64, maxLength: 64 }), (sha) => {
          assert.equal(codeHashLabel(sha), expectedLabel(sha));
          assert.equal(labelValue(expectedLabel(sha)), expectedLabel(sha));
        }),
      );
    });
  });

  describe("push subscriptions: config and policies", () => {
    before(async () => {
      await planned("dev");
    });

    it("the config accepts a retry backoff exactly when the mandatory policy does (property)", async () => {
      const bound = fc.oneof(fc.integer({ min: -2, max: 700 }), fc.constantFrom(0, 10, 599, 600, 601));
      await fc.assert(
        fc.asyncProperty(bound, bound, async (min, max) => {
          const config = configAccepts({ pushMinimumBackoffSeconds: min, pushMaximumBackoffSeconds: max });
          const policy = await policyAccepts(pushSubscriptionRetryBackoff, (p) => Object.assign(obj(p, "retryPolicy"), { minimumBackoff: `${min}s`, maximumBackoff: `${max}s` }));
          assert.equal(config, policy, `backoff ${min}s..${max}s: config ${config}, policy ${policy}`);
        }),
        { numRuns: 60, examples: [[60, 60], [600, 600], [0, 0], [0, 1], [599, 600], [10, 600], [601, 602]] },
      );
    });

    it("the config accepts maxDeliveryAttempts exactly when the mandatory policy does (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 120 }), async (attempts) => {
          const config = configAccepts({ pushMaxDeliveryAttempts: attempts });
          const policy = await policyAccepts(pushSubscriptionDeadLetter, (p) => (obj(p, "deadLetterPolicy").maxDeliveryAttempts = attempts));
          assert.equal(config, policy, `${attempts} attempts`);
          assert.equal(config, inRange(attempts, MAX_DELIVERY_ATTEMPTS));
        }),
        { numRuns: 40, examples: [[4], [5], [100], [101]] },
      );
    });

    it("a function timeout the config accepts gets an ack deadline Pub/Sub accepts and the ack-deadline policy passes (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 700 }), async (timeout) => {
          const config = configAccepts({ functionTimeoutSeconds: timeout });
          assert.equal(config, inRange(timeout, ACK_DEADLINE_SECONDS), `timeout ${timeout}s`);
          if (!config) {
            if (timeout > ACK_DEADLINE_SECONDS.max) assert.throws(() => ackDeadlineFor(timeout), /exceeds/);
            return;
          }
          const ack = ackDeadlineFor(timeout);
          assert.ok(inRange(ack, ACK_DEADLINE_SECONDS), `ack ${ack}s`);
          const policy = await policyAccepts(pushSubscriptionAckDeadline, (p, all) => {
            p.ackDeadlineSeconds = ack;
            for (const fn of all.filter((r) => r.type === T.function)) edit(fn, (f) => (obj(f, "serviceConfig").timeoutSeconds = timeout));
          });
          assert.ok(policy, `timeout ${timeout}s, ack ${ack}s`);
        }),
        { numRuns: 40, examples: [[9], [10], [600], [601]] },
      );
    });

    it("a dead-letter retention the config accepts is one Pub/Sub accepts", () => {
      for (let days = -1; days <= 40; days++) {
        const config = configAccepts({ deadLetterRetentionDays: days });
        assert.equal(config, inRange(days, DEAD_LETTER_RETENTION_DAYS), `${days} days`);
        if (config) assert.ok(inRange(days * 86_400, MESSAGE_RETENTION_SECONDS), `${days} days`);
      }
    });
  });
});

// The one formatter of zod issues (functions/core/zod-issues.ts): paths, unknown keys named at their
// own path, the root label; and that the parsers which report problems as text go through it.
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { parseRuntimeEnv, RuntimeEnvError } from "../../functions/core/runtime-env.ts";
import { parseScheduledSettings, SCHEDULED_ENV_KEYS } from "../../functions/core/scheduled-config.ts";
import { formatIssues, formatPath, issueProblems } from "../../functions/core/zod-issues.ts";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { ExistingSystemConfigError, existingSystemFor } from "../../tools/adopt/existing.ts";
import { readPreview } from "../../tools/drift/parse-preview.ts";

const SCHEMA = z.strictObject({
  transitions: z.array(z.strictObject({ id: z.string(), rule: z.record(z.string(), z.number()) })),
  "orchestration:alertEmail": z.email().optional(),
});

const errorOf = (value: unknown): z.ZodError => {
  const parsed = SCHEMA.safeParse(value);
  assert.ok(!parsed.success, "expected a failure");
  return parsed.error;
};

describe("zod issues: one formatter", () => {
  const PATHS: { path: PropertyKey[]; expected: string }[] = [
    { path: [], expected: "(root)" },
    { path: ["transitions", 1, "rule", "majorityPct"], expected: "transitions[1].rule.majorityPct" },
    { path: ["overrides", "transitions", "phase3-to-phase4", "rule"], expected: 'overrides.transitions["phase3-to-phase4"].rule' },
    { path: [0, "id"], expected: "[0].id" },
    // Pulumi config keys are read bare, as the stack file and `pulumi config set` spell them.
    { path: ["orchestration:alertEmail"], expected: "orchestration:alertEmail" },
    { path: ["phase-orchestration:slackWebhookUrl"], expected: "phase-orchestration:slackWebhookUrl" },
    { path: ["a-b"], expected: '["a-b"]' },
    { path: ["a b", "x.y", ""], expected: '["a b"]["x.y"][""]' },
  ];
  for (const { path, expected } of PATHS) {
    it(`path ${JSON.stringify(path.map(String))} -> ${expected}`, () => assert.equal(formatPath(path), expected));
  }

  it("a path reads back unambiguously: distinct key lists never format alike", () => {
    const key = fc.oneof(fc.nat({ max: 20 }), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 4 }), fc.array(key, { maxLength: 4 }), (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b) && a.length > 0 && b.length > 0);
        assert.notEqual(formatPath(a), formatPath(b));
      }),
    );
  });

  it("one line per problem: each at its path, an unknown key at its own path as \"unknown key\"", () => {
    const error = errorOf({ transitions: [{ id: 3, rule: { a: "x" }, extra: 1, other: 2 }], "orchestration:alertEmail": "nope" });
    assert.deepEqual(formatIssues(error).sort(), [
      "orchestration:alertEmail: Invalid email address",
      "transitions[0].extra: unknown key",
      "transitions[0].id: Invalid input: expected string, received number",
      "transitions[0].other: unknown key",
      "transitions[0].rule.a: Invalid input: expected number, received string",
    ]);
    assert.deepEqual(
      issueProblems(error).filter((p) => p.message === "unknown key").map((p) => p.code),
      ["unrecognized_keys", "unrecognized_keys"],
    );
  });

  it("the empty path reads as the root label the caller names; an error and its issues format alike", () => {
    const error = errorOf("not an object");
    assert.deepEqual(formatIssues(error), ["(root): Invalid input: expected object, received string"]);
    assert.deepEqual(formatIssues(error, "(env)"), ["(env): Invalid input: expected object, received string"]);
    assert.deepEqual(formatIssues(error.issues), formatIssues(error));
  });

  it("the environment parsers report through it (an unknown trigger mode, a bad lookback)", () => {
    assert.throws(
      () => parseRuntimeEnv({ TRIGGER_MODE: "Shadow" }, "scheduled"),
      (e: unknown) => e instanceof RuntimeEnvError && e.problems.some((p) => /^TRIGGER_MODE: /.test(p)),
    );
    assert.throws(() => parseScheduledSettings({ [SCHEDULED_ENV_KEYS.lookbackDays]: "99" }), new RegExp(`invalid scheduled-job settings: ${SCHEDULED_ENV_KEYS.lookbackDays}: `));
  });

  it("the tools report through it too: an unknown key of the existing-system override by name, a preview's bad step at its index", () => {
    assert.throws(
      () => existingSystemFor(loadPipeline(), "ds", JSON.stringify({ topix: [] })),
      (e: unknown) => e instanceof ExistingSystemConfigError && e.problems.includes("topix: unknown key"),
    );
    const verdict = readPreview(JSON.stringify({ steps: [{ op: "same", urn: "urn:pulumi:dev::p::t::a" }, { op: 7, urn: "urn:pulumi:dev::p::t::b" }] }));
    assert.ok(!verdict.ok);
    assert.match(verdict.reason, /at steps\[1\]\.op: /);
  });
});

// The email channel's address (alertEmail): required in staging and prod, optional in dev, and an
// email address wherever it is set.
import assert from "node:assert/strict";
import { ALERT_EMAIL_REQUIRED_IN, parseStackConfig, PROJECT_NAMESPACE, StackConfigError } from "../../infra/stack-config.ts";
import { readStackFiles } from "../../tools/plan/stack-files.ts";
import { ROOT, STACKS } from "./helpers.ts";

const KEY = `${PROJECT_NAMESPACE}:alertEmail`;
const rawOf = (stack: string) => ({ ...readStackFiles(ROOT, stack).config });

describe("stack config: alertEmail", () => {
  it("staging and prod require it", () => {
    assert.deepEqual([...ALERT_EMAIL_REQUIRED_IN].sort(), ["prod", "staging"]);
    for (const stack of ["staging", "prod"]) {
      const raw = rawOf(stack);
      assert.ok(parseStackConfig(raw).alerts.email !== undefined, `Pulumi.${stack}.yaml sets it`);
      delete raw[KEY];
      assert.throws(
        () => parseStackConfig(raw),
        (e: unknown) => e instanceof StackConfigError && e.problems.length === 1 && e.problems[0]!.startsWith(`${KEY}: required in ${stack}`),
      );
    }
  });

  it("dev may go without it (its alerts about Slack then go to the Slack errors channel)", () => {
    const raw = rawOf("dev");
    delete raw[KEY];
    assert.equal(parseStackConfig(raw).alerts.email, undefined);
    assert.equal(parseStackConfig({ ...raw, [KEY]: "oncall@example.com" }).alerts.email, "oncall@example.com");
  });

  it("where set, it must be an email address", () => {
    for (const stack of STACKS) {
      for (const bad of ["", "oncall", "#pipeline-errors", "a@b"]) {
        assert.throws(() => parseStackConfig({ ...rawOf(stack), [KEY]: bad }), (e: unknown) => e instanceof StackConfigError && e.problems.some((p) => p.startsWith(`${KEY}:`)), `${stack}: ${bad}`);
      }
    }
  });
});

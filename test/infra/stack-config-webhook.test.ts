// The Slack webhook by environment at the stack level (infra/stack-config.ts): staging and prod refuse
// a blank one, so the program fails before deploying functions that could never alert; dev may run
// without alerts (its functions log that once at start, functions/core/runtime-env.ts).
import assert from "node:assert/strict";
import { parseStackConfig, PROJECT_NAMESPACE, StackConfigError } from "../../infra/stack-config.ts";
import { readStackFiles } from "../../tools/plan/stack-files.ts";
import { ROOT } from "./helpers.ts";

const WEBHOOK = `${PROJECT_NAMESPACE}:slackWebhookUrl`;
const withWebhook = (stack: string, value: string | undefined) => ({ ...readStackFiles(ROOT, stack).config, [WEBHOOK]: value });

describe("stack config: the Slack webhook by environment", () => {
  for (const stack of ["staging", "prod"]) {
    for (const value of ["", "   ", undefined]) {
      it(`${stack}: ${JSON.stringify(value)} fails the evaluation naming slackWebhookUrl`, () => {
        assert.throws(
          () => parseStackConfig(withWebhook(stack, value)),
          (e: unknown) => e instanceof StackConfigError && e.problems.length === 1 && e.problems[0]!.startsWith(`${WEBHOOK}: `),
        );
      });
    }
    it(`${stack}: a webhook value passes`, () => {
      assert.equal(parseStackConfig(withWebhook(stack, "https://hooks.slack.example/x")).environment, stack);
    });
  }

  it("dev: a blank webhook (no alerts) is accepted; an absent one is still a missing secret", () => {
    assert.equal(parseStackConfig(withWebhook("dev", "   ")).environment, "dev");
    assert.throws(() => parseStackConfig(withWebhook("dev", undefined)), /slackWebhookUrl: required/);
  });
});

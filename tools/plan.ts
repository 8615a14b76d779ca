// `npm run plan -- --stack <name> [--json] [--policy]`: evaluates the Pulumi program offline under the mock
// runtime for one stack and prints the resources it declares. One stack per process: the SDK's
// runtime state is global.
// The Pulumi runtime and the policy pack are imported only after the arguments are parsed, so --help
// and a usage error answer at once.
import { defineCommand } from "./cli/command.ts";
import { CliError, EXIT_USAGE, UsageError } from "./cli/errors.ts";
import { runIfMain } from "./cli/main.ts";

const EXIT_FAILED = 1;

export const PLAN_COMMAND = defineCommand({
  tool: "plan",
  synopsis: "npm run plan -- --stack <name> [--json] [--policy]",
  summary: `Evaluates the Pulumi program for a stack offline (Pulumi mock runtime, config from Pulumi.yaml
defaults and Pulumi.<name>.yaml) and prints every resource it declares.`,
  options: {
    stack: { type: "string", value: "<name>", description: "dev, staging, prod (any Pulumi.<name>.yaml)" },
    json: { type: "boolean", description: `exactly one JSON document on stdout:\n{"stack", "resources": [{"type", "name", "inputs"}], "outputs"}` },
    policy: {
      type: "boolean",
      description: `also run the policy pack (policies/) over the planned resources and print the
violations; with --json they are in "violations": [{"policy", "level",
"resource", "message"}]. Exit 1 if a mandatory policy is violated.`,
    },
  },
  notes: `Secrets are not available offline: they are placeholders, shown as "[secret]".
Exit codes: 0 ok, 1 the program failed (e.g. invalid config) or a mandatory policy is violated,
2 usage error or unknown stack.`,
});

async function main(argv: string[]): Promise<number> {
  const values = PLAN_COMMAND.parse(argv);
  if (values.help) {
    process.stdout.write(PLAN_COMMAND.help);
    return 0;
  }
  if (values.stack === undefined || values.stack === "") throw new UsageError("--stack is required");
  const stack = values.stack;
  const [{ evaluateStack }, { hasMandatoryViolation, jsonWithViolations, renderViolations, stackViolations }, { planJson, renderTable }, { UnknownStackError }] =
    await Promise.all([import("./plan/evaluate.ts"), import("./plan/policy-runner.ts"), import("./plan/render.ts"), import("./plan/stack-files.ts")]);
  try {
    const plan = await evaluateStack(stack);
    if (!values.policy) {
      process.stdout.write(values.json ? planJson(plan) + "\n" : renderTable(plan));
      return 0;
    }
    const violations = await stackViolations(stack);
    process.stdout.write(values.json ? jsonWithViolations(planJson(plan), violations) + "\n" : renderTable(plan) + "\n" + renderViolations(violations));
    return hasMandatoryViolation(violations) ? 1 : 0;
  } catch (error) {
    if (error instanceof UnknownStackError) throw new CliError(error.message, EXIT_USAGE);
    throw new CliError(`failed for stack ${stack}: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILED);
  }
}

await runIfMain(import.meta.url, { tool: "plan", synopsis: PLAN_COMMAND.synopsis, failureExitCode: EXIT_FAILED }, main);

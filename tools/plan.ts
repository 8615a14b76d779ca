// `npm run plan -- --stack <name> [--json] [--policy]`: evaluates the Pulumi program offline under the mock
// runtime for one stack and prints the resources it declares. One stack per process: the SDK's
// runtime state is global.
// The Pulumi runtime and the policy pack are imported only after the arguments are parsed, so --help
// and a usage error answer at once.
import { parseArgs } from "node:util";

const USAGE = `usage: npm run plan -- --stack <name> [--json] [--policy]

Evaluates the Pulumi program for a stack offline (Pulumi mock runtime, config from Pulumi.yaml
defaults and Pulumi.<name>.yaml) and prints every resource it declares.

  --stack <name>  dev, staging, prod (any Pulumi.<name>.yaml)
  --json          exactly one JSON document on stdout:
                  {"stack", "resources": [{"type", "name", "inputs"}], "outputs"}
  --policy        also run the policy pack (policies/) over the planned resources and print the
                  violations; with --json they are in "violations": [{"policy", "level",
                  "resource", "message"}]. Exit 1 if a mandatory policy is violated.
  --help          this text

Secrets are not available offline: they are placeholders, shown as "[secret]".
Exit codes: 0 ok, 1 the program failed (e.g. invalid config) or a mandatory policy is violated,
2 usage error or unknown stack.`;

async function main(argv: string[]): Promise<number> {
  let values: { stack?: string; json?: boolean; policy?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { stack: { type: "string" }, json: { type: "boolean" }, policy: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (values.stack === undefined || values.stack === "") {
    process.stderr.write(`--stack is required\n\n${USAGE}\n`);
    return 2;
  }
  const [{ evaluateStack }, { hasMandatoryViolation, jsonWithViolations, renderViolations, stackViolations }, { planJson, renderTable }, { UnknownStackError }] =
    await Promise.all([import("./plan/evaluate.ts"), import("./plan/policy-runner.ts"), import("./plan/render.ts"), import("./plan/stack-files.ts")]);
  try {
    const plan = await evaluateStack(values.stack);
    if (values.policy !== true) {
      process.stdout.write(values.json === true ? planJson(plan) + "\n" : renderTable(plan));
      return 0;
    }
    const violations = await stackViolations(values.stack);
    process.stdout.write(values.json === true ? jsonWithViolations(planJson(plan), violations) + "\n" : renderTable(plan) + "\n" + renderViolations(violations));
    return hasMandatoryViolation(violations) ? 1 : 0;
  } catch (error) {
    if (error instanceof UnknownStackError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    process.stderr.write(`plan failed for stack ${values.stack}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

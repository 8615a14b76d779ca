// `npm run adopt -- --stack <name> [--json] [--out <file>]`: the `pulumi import --file` document that
// adopts what the existing system already holds under the names this program declares, and a
// report of what must be replaced instead. I/O here; the plan is pure (tools/adopt/).
// The Pulumi runtime is imported only after the arguments are parsed, so --help and a usage error
// answer at once.
import { writeFile } from "node:fs/promises";
import { defineCommand } from "./cli/command.ts";
import { CliError, EXIT_USAGE, UsageError } from "./cli/errors.ts";
import { runIfMain } from "./cli/main.ts";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export { EXIT_USAGE };

export const ADOPT_COMMAND = defineCommand({
  tool: "adopt",
  synopsis: "npm run -s adopt -- --stack <name> [--json] [--out <file>]",
  summary: `Evaluates the program for a stack offline (as \`npm run plan\` does) and writes the bulk-import
document of \`pulumi import --file\` for every declared resource whose physical name the existing
system already uses (topics, the BigQuery dataset and its tables, the Firestore database,
functions), each with its type, logical name, parent and import id. Existing functions that cannot
be adopted, and the old functions' Eventarc subscriptions, are reported as replaced.

What exists: the names the pipeline model and the stack config define, unless the stack file sets
phase-orchestration:existingSystem (see tools/adopt/existing.ts).`,
  options: {
    stack: { type: "string", value: "<name>", description: "dev, staging, prod (any Pulumi.<name>.yaml)" },
    json: { type: "boolean", description: "print the import document itself on stdout (nothing else)" },
    out: { type: "string", value: "<file>", description: "also write the import document to <file>" },
  },
  notes: `Exit status: 0 the document was produced, 1 the program or the existing-system config failed,
2 usage error or unknown stack. Runbook: docs/runbooks/cutover.md.`,
});

export async function main(argv: string[]): Promise<number> {
  const values = ADOPT_COMMAND.parse(argv);
  if (values.help) {
    process.stdout.write(ADOPT_COMMAND.help);
    return EXIT_OK;
  }
  if (values.stack === undefined || values.stack === "") throw new UsageError("--stack is required");
  const { adoptionPlanFor } = await import("./adopt/for-stack.ts");
  const { UnknownStackError } = await import("./plan/stack-files.ts");
  let plan;
  try {
    plan = await adoptionPlanFor(values.stack);
  } catch (error) {
    if (error instanceof UnknownStackError) throw new CliError(error.message, EXIT_USAGE);
    throw new CliError(`failed for stack ${values.stack}: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILED);
  }
  const documentText = `${JSON.stringify(plan.document, null, 2)}\n`;
  if (values.out !== undefined) await writeFile(values.out, documentText);
  if (values.json) {
    process.stdout.write(documentText);
  } else {
    const { renderAdoptReport } = await import("./adopt/render.ts");
    process.stdout.write(renderAdoptReport(plan, values.out));
  }
  return EXIT_OK;
}

await runIfMain(import.meta.url, { tool: "adopt", synopsis: ADOPT_COMMAND.synopsis, failureExitCode: EXIT_FAILED }, main);

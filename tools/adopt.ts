// `npm run adopt -- --stack <name> [--json] [--out <file>]`: the `pulumi import --file` document that
// adopts what the existing system already holds under the names this program declares, and a
// report of what must be replaced instead. I/O here; the plan is pure (tools/adopt/).
// The Pulumi runtime is imported only after the arguments are parsed, so --help and a usage error
// answer at once.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: npm run -s adopt -- --stack <name> [--json] [--out <file>]

Evaluates the program for a stack offline (as \`npm run plan\` does) and writes the bulk-import
document of \`pulumi import --file\` for every declared resource whose physical name the existing
system already uses (topics, the BigQuery dataset and its tables, the Firestore database,
functions), each with its type, logical name, parent and import id. Existing functions that cannot
be adopted, and the old functions' Eventarc subscriptions, are reported as replaced.

What exists: the names the pipeline model and the stack config define, unless the stack file sets
phase-orchestration:existingSystem (see tools/adopt/existing.ts).

Options:
  --stack <name>  dev, staging, prod (any Pulumi.<name>.yaml)
  --json          print the import document itself on stdout (nothing else)
  --out <file>    also write the import document to <file>
  -h, --help      this help

Exit status: 0 the document was produced, 1 the program or the existing-system config failed,
2 usage error or unknown stack. Runbook: docs/runbooks/cutover.md.
`;

export async function main(argv: string[]): Promise<number> {
  let values: { stack?: string; json?: boolean; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { stack: { type: "string" }, json: { type: "boolean" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`adopt: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (values.stack === undefined || values.stack === "") {
    process.stderr.write(`adopt: --stack is required\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { adoptionPlanFor } = await import("./adopt/for-stack.ts");
  const { UnknownStackError } = await import("./plan/stack-files.ts");
  let plan;
  try {
    plan = await adoptionPlanFor(values.stack);
  } catch (error) {
    if (error instanceof UnknownStackError) {
      process.stderr.write(`adopt: ${error.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`adopt: failed for stack ${values.stack}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
  const documentText = `${JSON.stringify(plan.document, null, 2)}\n`;
  if (values.out !== undefined) await writeFile(values.out, documentText);
  if (values.json === true) {
    process.stdout.write(documentText);
  } else {
    const { renderAdoptReport } = await import("./adopt/render.ts");
    process.stdout.write(renderAdoptReport(plan, values.out));
  }
  return EXIT_OK;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`adopt: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}

// `npm run shadow:report -- --stack <name> [--since <date>] [--json]`: compares, per transition and
// game date, what the existing orchestrator triggered (the tap subscriptions) with what ours decided
// in shadow mode (Firestore phase state). I/O here; the comparison is pure (tools/shadow-report/).
import path from "node:path";
import { parseArgs } from "node:util";

export const EXIT_AGREE = 0;
export const EXIT_DISAGREE = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: npm run -s shadow:report -- --stack <name> [--since <YYYY-MM-DD>] [--json]

Reads both sides of a shadow run (triggerMode: shadow) and reports, per transition and game date:
both triggered (the delay between them and any difference in the fields the downstream services
read), only the existing system triggered, only ours triggered, neither triggered.

  --stack <name>   the stack (its project and Firestore prefix come from its config)
  --since <date>   only game dates from this date on
  --json           one JSON document: {"stack", "agree", "rows": [{"transitionId", "gameDate",
                   "outcome", "delayMs"?, "differences", "counts", "agree"}]}
  -h, --help       this help

Exit status: 0 both sides agree on every phase and date, 1 they differ somewhere, 2 usage error,
unknown stack, or no report (a side could not be read). Runbook: docs/runbooks/cutover.md.
`;

export async function main(argv: string[]): Promise<number> {
  let values: { stack?: string; since?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { stack: { type: "string" }, since: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`shadow:report: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return EXIT_AGREE;
  }
  if (values.stack === undefined || values.stack === "") {
    process.stderr.write(`shadow:report: --stack is required\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.since)) {
    process.stderr.write(`shadow:report: --since must be a date YYYY-MM-DD\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const [{ readStackFiles, UnknownStackError }, { parseStackConfig }, { loadPipeline }, { compareTriggers }, { renderShadowReport }, { readSides }] = await Promise.all([
    import("./plan/stack-files.ts"),
    import("../infra/stack-config.ts"),
    import("../functions/core/pipeline.ts"),
    import("./shadow-report/compare.ts"),
    import("./shadow-report/render.ts"),
    import("./shadow-report/read.ts"),
  ]);
  let config;
  try {
    config = parseStackConfig(readStackFiles(path.resolve(import.meta.dirname, ".."), values.stack).config);
  } catch (error) {
    if (!(error instanceof UnknownStackError)) throw error;
    process.stderr.write(`shadow:report: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const pipeline = loadPipeline(config.pipelineOverrides);
  const sides = await readSides({ projectId: config.project, firestorePrefix: config.firestoreCollectionPrefix, pipeline, since: values.since });
  const comparison = compareTriggers(pipeline.transitions, sides.ours, sides.existing, sides.expected);
  process.stdout.write(values.json === true ? `${JSON.stringify({ stack: values.stack, ...comparison }, null, 2)}\n` : renderShadowReport(values.stack, comparison));
  return comparison.agree ? EXIT_AGREE : EXIT_DISAGREE;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // No report (a side could not be read): never 0 or 1, which are verdicts.
      process.stderr.write(`shadow:report: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}

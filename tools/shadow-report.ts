// `npm run shadow:report -- --stack <name> [--since <date>] [--until <date>] [--json]`: compares, per
// transition and game date, what the existing orchestrator triggered (the tap subscriptions) with what
// ours decided in shadow mode (Firestore phase state). I/O here; the comparison is pure
// (tools/shadow-report/). `npm start -- --shadow` ends with the same report (shadowReport below).
import path from "node:path";
import { parseArgs } from "node:util";
import type { Pipeline } from "../functions/core/pipeline-types.ts";
import type { Comparison } from "./shadow-report/compare.ts";
import type { ReportEndpoints } from "./shadow-report/endpoints.ts";

export const EXIT_AGREE = 0;
export const EXIT_DISAGREE = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: npm run -s shadow:report -- --stack <name> [--since <YYYY-MM-DD>] [--until <YYYY-MM-DD>] [--json]

Reads both sides of a shadow run (triggerMode: shadow) and reports, per transition and game date:
both triggered (the delay between them and any difference in the fields the downstream services
read), only the existing system triggered, only ours triggered, neither triggered.

  --stack <name>   the stack (its project and Firestore prefix come from its config)
  --since <date>   only game dates from this date on
  --until <date>   only game dates up to this date
  --json           one JSON document: {"stack", "source", "agree", "rows": [{"transitionId", "gameDate",
                   "outcome", "delayMs"?, "differences", "counts", "agree"}]}
  -h, --help       this help

Where it reads: Google Cloud (Application Default Credentials), or the local emulators when
FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST are both set (host:port, as the Google clients read
them; one without the other is refused). The first line on stderr, and "source" in the JSON, say which.
\`npm start -- --shadow --keep-running\` prints both variables for its emulators.

Exit status: 0 both sides agree on every phase and date, 1 they differ somewhere, 2 usage error,
unknown stack, or no report (a side could not be read). Runbook: docs/runbooks/cutover.md.
`;

export interface ShadowReportOptions {
  stack: string;
  projectId: string;
  firestorePrefix: string;
  pipeline: Pipeline;
  endpoints: ReportEndpoints;
  since?: string | undefined;
  until?: string | undefined;
}

export interface ShadowReport extends Comparison {
  stack: string;
  /** What was read (endpoints.ts describeEndpoints). */
  source: string;
}

/** Reads both sides and compares them: the whole report, for the CLI below and `npm start -- --shadow`. */
export async function shadowReport(o: ShadowReportOptions): Promise<ShadowReport> {
  const [{ compareTriggers }, { readSides }, { describeEndpoints }] = await Promise.all([
    import("./shadow-report/compare.ts"),
    import("./shadow-report/read.ts"),
    import("./shadow-report/endpoints.ts"),
  ]);
  const sides = await readSides({ projectId: o.projectId, firestorePrefix: o.firestorePrefix, pipeline: o.pipeline, endpoints: o.endpoints, since: o.since, until: o.until });
  const comparison = compareTriggers(o.pipeline.transitions, sides.ours, sides.existing, sides.expected);
  return { stack: o.stack, source: describeEndpoints(o.endpoints, o.projectId), ...comparison };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function main(argv: string[]): Promise<number> {
  let values: { stack?: string; since?: string; until?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
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
  for (const flag of ["since", "until"] as const) {
    if (values[flag] !== undefined && !DATE.test(values[flag])) {
      process.stderr.write(`shadow:report: --${flag} must be a date YYYY-MM-DD\n\n${USAGE}`);
      return EXIT_USAGE;
    }
  }
  const [{ readStackFiles, UnknownStackError }, { parseStackConfig }, { loadPipeline }, { renderShadowReport }, { describeEndpoints, EndpointError, endpointsFromEnv }] = await Promise.all([
    import("./plan/stack-files.ts"),
    import("../infra/stack-config.ts"),
    import("../functions/core/pipeline.ts"),
    import("./shadow-report/render.ts"),
    import("./shadow-report/endpoints.ts"),
  ]);
  let endpoints: ReportEndpoints;
  try {
    endpoints = endpointsFromEnv(process.env);
  } catch (error) {
    if (!(error instanceof EndpointError)) throw error;
    process.stderr.write(`shadow:report: ${error.message}\n`);
    return EXIT_USAGE;
  }
  let config;
  try {
    config = parseStackConfig(readStackFiles(path.resolve(import.meta.dirname, ".."), values.stack).config);
  } catch (error) {
    if (!(error instanceof UnknownStackError)) throw error;
    process.stderr.write(`shadow:report: ${error.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`shadow:report: stack ${values.stack}, reading ${describeEndpoints(endpoints, config.project)}\n`);
  const pipeline = loadPipeline(config.pipelineOverrides);
  const report = await shadowReport({ stack: values.stack, projectId: config.project, firestorePrefix: config.firestoreCollectionPrefix, pipeline, endpoints, since: values.since, until: values.until });
  process.stdout.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderShadowReport(values.stack, report));
  return report.agree ? EXIT_AGREE : EXIT_DISAGREE;
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

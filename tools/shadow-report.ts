// `npm run shadow:report -- --stack <name> [--since <date>] [--until <date>] [--json]`: compares, per
// transition and game date, what the existing orchestrator triggered (the tap subscriptions) with what
// ours decided in shadow mode (Firestore phase state). I/O here; the comparison is pure
// (tools/shadow-report/). `npm start -- --shadow` ends with the same report (shadowReport below).
import path from "node:path";
import type { Pipeline } from "../functions/core/pipeline-types.ts";
import type { Comparison } from "./shadow-report/compare.ts";
import type { ReportEndpoints } from "./shadow-report/endpoints.ts";
import { defineCommand } from "./cli/command.ts";
import { CliError, EXIT_USAGE, UsageError } from "./cli/errors.ts";
import { runIfMain } from "./cli/main.ts";

export const EXIT_AGREE = 0;
export const EXIT_DISAGREE = 1;
export { EXIT_USAGE };

export const SHADOW_REPORT_COMMAND = defineCommand({
  tool: "shadow:report",
  synopsis: "npm run -s shadow:report -- --stack <name> [--since <YYYY-MM-DD>] [--until <YYYY-MM-DD>] [--json]",
  summary: `Reads both sides of a shadow run (triggerMode: shadow) and reports, per transition and game date:
both triggered (the delay between them and any difference in the fields the downstream services
read), only the existing system triggered, only ours triggered, neither triggered.`,
  options: {
    stack: { type: "string", value: "<name>", description: "the stack (its project and Firestore prefix come from its config)" },
    since: { type: "string", value: "<date>", description: "only game dates from this date on" },
    until: { type: "string", value: "<date>", description: "only game dates up to this date" },
    json: {
      type: "boolean",
      description: `one JSON document: {"stack", "source", "agree", "rows": [{"transitionId", "gameDate",
"outcome", "delayMs"?, "differences", "counts", "agree"}]}`,
    },
  },
  notes: `Where it reads: Google Cloud (Application Default Credentials), or the local emulators when
FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST are both set (host:port, as the Google clients read
them; one without the other is refused). The first line on stderr, and "source" in the JSON, say which.
\`npm start -- --shadow --keep-running\` prints both variables for its emulators.

Exit status: 0 both sides agree on every phase and date, 1 they differ somewhere, 2 usage error,
unknown stack, or no report (a side could not be read). Runbook: docs/runbooks/cutover.md.`,
});

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
  const values = SHADOW_REPORT_COMMAND.parse(argv);
  if (values.help) {
    process.stdout.write(SHADOW_REPORT_COMMAND.help);
    return EXIT_AGREE;
  }
  if (values.stack === undefined || values.stack === "") throw new UsageError("--stack is required");
  const stack = values.stack;
  for (const flag of ["since", "until"] as const) {
    const value = values[flag];
    if (value !== undefined && !DATE.test(value)) throw new UsageError(`--${flag} must be a date YYYY-MM-DD`);
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
    throw new CliError(error.message, EXIT_USAGE);
  }
  let config;
  try {
    config = parseStackConfig(readStackFiles(path.resolve(import.meta.dirname, ".."), stack).config);
  } catch (error) {
    if (!(error instanceof UnknownStackError)) throw error;
    throw new CliError(error.message, EXIT_USAGE);
  }
  // The emulators need no credentials: no Google client may probe the metadata server for them.
  if (endpoints.firestoreEmulatorHost !== undefined) process.env.METADATA_SERVER_DETECTION ??= "none";
  process.stderr.write(`shadow:report: stack ${stack}, reading ${describeEndpoints(endpoints, config.project)}\n`);
  const pipeline = loadPipeline(config.pipelineOverrides);
  const report = await shadowReport({ stack, projectId: config.project, firestorePrefix: config.firestoreCollectionPrefix, pipeline, endpoints, since: values.since, until: values.until });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderShadowReport(stack, report));
  return report.agree ? EXIT_AGREE : EXIT_DISAGREE;
}

// No report (a side could not be read) when the tool itself fails: never 0 or 1, which are verdicts.
await runIfMain(import.meta.url, { tool: "shadow:report", synopsis: SHADOW_REPORT_COMMAND.synopsis, failureExitCode: EXIT_USAGE }, main);

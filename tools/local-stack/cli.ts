// `npm start -- [--stack <name>] [--dates <N>] [--instances <N>] [--fault <name>]... [--shadow] [--keep-running] [--json]`:
// the whole stack on local emulators, derived from the Pulumi program, then a game day through every
// phase (with --shadow: in shadow mode beside a simulated existing orchestrator, then the shadow report).
// Progress goes to stderr; stdout carries the report (or, with --json, exactly one JSON document).
// Every process started is stopped on exit, on failure and on Ctrl-C.
// Only the argument parser is imported statically: --help and a usage error answer at once, without
// loading the Pulumi program, the Google clients and the emulator code (seconds on a busy machine).
import * as path from "node:path";
import { CliError, describeCliError } from "../cli/errors.ts";
import { runCli } from "../cli/main.ts";
import { parseCliArgs, START_COMMAND, UsageError } from "./args.ts";
import type { LocalStack } from "./stack.ts";

const log = (line: string) => process.stderr.write(`${line}\n`);
const ROOT = path.resolve(import.meta.dirname, "..", "..");

function localEndpoints(stack: LocalStack): string {
  const lines = [
    "the local stack keeps running (Ctrl-C stops everything):",
    `  FIRESTORE_EMULATOR_HOST=${stack.firestore.host}`,
    `  PUBSUB_EMULATOR_HOST=${stack.pubsub.host}`,
    `  BIGQUERY_API_ENDPOINT=${stack.bigquery.url}`,
    `  GCLOUD_PROJECT=${stack.project}`,
    `  Slack sink: ${stack.slack.url} (GET it for every alert received, as JSON)`,
  ];
  for (const [name, url] of stack.urls) lines.push(`  ${name}: ${url} (GET ${url}/health)`);
  for (const s of stack.plan.subscriptions) if (s.pushTo !== undefined) lines.push(`  ${s.name} -> ${s.pushTo}`);
  if (stack.triggerMode === "shadow") {
    lines.push(
      "  the shadow report of these emulators, from another shell:",
      `    FIRESTORE_EMULATOR_HOST=${stack.firestore.host} PUBSUB_EMULATOR_HOST=${stack.pubsub.host} npm run -s shadow:report -- --stack ${stack.plan.stack}`,
    );
  }
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  // This process reaches only local endpoints: no Google client here may probe the metadata server.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const options = parseCliArgs(argv);
  if (options.help) {
    process.stdout.write(START_COMMAND.help);
    return 0;
  }
  const [
    { UnknownStackError },
    { WiringError },
    { killAllEmulatorsSync },
    { killAllFunctionsSync },
    { runGameDay },
    { gameDates },
    { renderReport, reportJson, withShadow },
    { MisconfiguredFunctionError, PrerequisiteError, startLocalStack },
    { KEEP_RUNNING_SCHEDULE_MS, startScheduler },
    { localShadowReport, SHADOW_CONFIG },
    { checkDisagreements },
    { readStackFiles },
    { parseStackConfig },
    { loadPipeline },
  ] = await Promise.all([
    import("../plan/stack-files.ts"),
    import("./declared.ts"),
    import("./emulators.ts"),
    import("./function-host.ts"),
    import("./game-day.ts"),
    import("./messages.ts"),
    import("./report.ts"),
    import("./stack.ts"),
    import("./scheduler.ts"),
    import("./shadow.ts"),
    import("./existing-system.ts"),
    import("../plan/stack-files.ts"),
    import("../../infra/stack-config.ts"),
    import("../../functions/core/pipeline.ts"),
  ]);

  let stack: LocalStack | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping every process the local stack started ...`);
    // During start-up there is no stack to close yet: the exit handlers kill what was started.
    const done = stack === undefined ? Promise.resolve() : stack.close();
    void done.then(
      () => process.exit(signal === "SIGINT" ? 130 : 143),
      (error: unknown) => {
        log(`cleanup failed: ${String(error)}`);
        killAllFunctionsSync();
        killAllEmulatorsSync();
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Last resort (an exception escaping everything, a signal during start-up): no child outlives this
  // process. The emulator groups have the same handler in tools/emulators/emulators.ts.

  try {
    if (options.shadowDisagree.length > 0) {
      // Checked against the stack's own pipeline before anything is started: a wrong name is a usage error.
      const problems = checkDisagreements(loadPipeline(parseStackConfig(readStackFiles(ROOT, options.stack).config).pipelineOverrides), options.shadowDisagree);
      if (problems.length > 0) throw new UsageError(problems.join("\n"));
    }
    stack = await startLocalStack({ stack: options.stack, instances: options.instances, log, ...(options.shadow ? { config: SHADOW_CONFIG } : {}) });
    const dates = gameDates(options.dates, new Date(), stack.pipeline.timeZone);
    let report = await runGameDay(stack, { dates, faults: options.faults, log, ...(options.shadow ? { shadow: { disagreements: options.shadowDisagree } } : {}) });
    if (options.shadow) {
      log("reading the shadow report (npm run shadow:report) from the local emulators ...");
      report = withShadow(report, await localShadowReport(stack, dates));
    }
    process.stdout.write(options.json ? JSON.stringify(reportJson(report)) + "\n" : renderReport(report));
    if (options.keepRunning) {
      // The stack stays a running system: Cloud Scheduler keeps calling the sweeper and the reconciler.
      const scheduler = startScheduler(stack, {
        intervalMs: KEEP_RUNNING_SCHEDULE_MS,
        log,
        track: (call, what) => void call.catch((error: unknown) => log(`  [scheduler] ${what} failed: ${error instanceof Error ? error.message : String(error)}`)),
      });
      log(localEndpoints(stack));
      for (const line of scheduler.overrides) log(`  ${line}`);
      await new Promise<never>(() => undefined);
    }
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UnknownStackError || error instanceof PrerequisiteError || error instanceof UsageError) {
      process.stderr.write(describeCliError(START_COMMAND.tool, error instanceof UsageError ? error : new CliError(error.message, 2)));
      if (options.json) process.stdout.write(JSON.stringify({ ok: false, stack: options.stack, error: error.message }) + "\n");
      return 2;
    }
    const known = error instanceof WiringError || error instanceof MisconfiguredFunctionError;
    process.stderr.write(describeCliError(START_COMMAND.tool, known ? new CliError(`failed: ${(error as Error).message}`, 1) : error));
    if (options.json) process.stdout.write(JSON.stringify({ ok: false, stack: options.stack, error: error instanceof Error ? error.message : String(error) }) + "\n");
    return 1;
  } finally {
    if (stack !== undefined && !stopping) {
      stopping = true;
      await stack.close().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
    }
  }
}

process.exitCode = await runCli(process.argv.slice(2), { tool: START_COMMAND.tool, synopsis: START_COMMAND.synopsis, failureExitCode: 1 }, main);
// Open handles of the Google clients must not keep a finished run alive.
process.exit();

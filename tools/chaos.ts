// `npm run chaos -- [--seed <N>] [--dates <D>] [--instances <K>] [--minutes <M>] [--stack <name>] [--json] [--logs <file>]`:
// the local stack under a randomized, seeded fault schedule, then the invariants (docs/CHAOS.md).
// Progress goes to stderr; stdout carries the report (with --json, exactly one JSON document).
// Only the argument parser (tools/cli) is imported statically, so --help and usage errors answer at once.
import { randomInt } from "node:crypto";
import { CHAOS_COMMAND, parseChaosArgs, replayCommand } from "./chaos/args.ts";
import { CliError, describeCliError } from "./cli/errors.ts";
import { runCli } from "./cli/main.ts";
import { MAX_SEED } from "./chaos/prng.ts";
import type { LocalStack } from "./local-stack/stack.ts";

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  // This process reaches only local endpoints: no Google client here may probe the metadata server.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const options = parseChaosArgs(argv, () => randomInt(0, MAX_SEED));
  if (options.help) {
    process.stdout.write(CHAOS_COMMAND.help);
    return 0;
  }
  const replay = replayCommand(options);
  if (!options.seedGiven) log(`seed ${options.seed} (drawn); replay with: ${replay}`);
  const [
    { UnknownStackError },
    { killAllEmulatorsSync },
    { killAllFunctionsSync },
    { gameDates },
    { PrerequisiteError, startLocalStack },
    { runChaos },
    { chaosJson, renderChaosReport },
    { writeFunctionLogs },
  ] = await Promise.all([
      import("./plan/stack-files.ts"),
      import("./local-stack/emulators.ts"),
      import("./local-stack/function-host.ts"),
      import("./local-stack/messages.ts"),
      import("./local-stack/stack.ts"),
      import("./chaos/driver.ts"),
      import("./chaos/report.ts"),
      import("./chaos/log-dump.ts"),
    ]);

  let stack: LocalStack | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`\n${signal}: stopping every process the chaos run started ...`);
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

  const fail = (code: number, message: string): number => {
    process.stderr.write(describeCliError(CHAOS_COMMAND.tool, new CliError(message, code)));
    if (options.json) process.stdout.write(JSON.stringify({ ok: false, seed: options.seed, error: message, replay }) + "\n");
    return code;
  };
  try {
    stack = await startLocalStack({ stack: options.stack, instances: options.instances, log });
    const dates = gameDates(options.dates, new Date(), stack.pipeline.timeZone);
    const report = await runChaos(stack, { seed: options.seed, dates, minutes: options.minutes, log, replay });
    process.stdout.write(options.json ? JSON.stringify(chaosJson(report)) + "\n" : renderChaosReport(report));
    if (!report.ok) log(`FAILED; replay with: ${replay}`);
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UnknownStackError || error instanceof PrerequisiteError) return fail(2, error.message);
    return fail(1, `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    // Also after a failed run: the logs are what explains it.
    if (stack !== undefined && options.logsFile !== null) {
      const file = options.logsFile;
      await writeFunctionLogs(file, stack.instances).then(
        (n) => log(`wrote ${n} function log lines to ${file}`),
        (error: unknown) => log(`could not write the function logs to ${file}: ${String(error)}`),
      );
    }
    if (stack !== undefined && !stopping) {
      stopping = true;
      await stack.close().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
    }
  }
}

process.exitCode = await runCli(process.argv.slice(2), { tool: CHAOS_COMMAND.tool, synopsis: CHAOS_COMMAND.synopsis, failureExitCode: 1 }, main);
// Open handles of the Google clients must not keep a finished run alive.
process.exit();

// How every command-line tool ends: main's exit code, or the error it threw printed the one way
// (describeCliError) with the exit code the error carries; a failure of the tool itself exits with
// the tool's own failure code (which a verdict code, e.g. "drift found", must not be).
import path from "node:path";
import { CliError, describeCliError } from "./errors.ts";

export interface CliEntry {
  tool: string;
  synopsis?: string;
  /** Exit code when the tool itself fails (an error that is not a CliError). */
  failureExitCode: number;
}

/** Runs main when the module is the process's entry point (not when a test imports it). */
export async function runIfMain(moduleUrlOrFile: string, entry: CliEntry, main: (argv: string[]) => Promise<number>): Promise<void> {
  const file = moduleUrlOrFile.startsWith("file:") ? new URL(moduleUrlOrFile).pathname : moduleUrlOrFile;
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== path.resolve(file)) return;
  process.exitCode = await runCli(process.argv.slice(2), entry, main);
}

export async function runCli(argv: string[], entry: CliEntry, main: (argv: string[]) => Promise<number>, stderr: (text: string) => void = (t) => void process.stderr.write(t)): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    stderr(describeCliError(entry.tool, error, entry.synopsis));
    return error instanceof CliError ? error.exitCode : entry.failureExitCode;
  }
}

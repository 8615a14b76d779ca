// The one error a command-line tool shows its user: `<tool>: <message>` on stderr, and the exit code
// it carries. Runtime errors of the functions are not these: only tools/ and bench/ throw them.

export const EXIT_USAGE = 2;

export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A bad command line: exit 2, with a pointer to --help. */
export class UsageError extends CliError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/**
 * What stderr shows for an error that ends a tool: a CliError as `<tool>: <message>` (a usage error
 * on one line, then the synopsis and where the options are explained); anything else is a failure
 * of the tool itself, shown with its stack.
 */
export function describeCliError(tool: string, error: unknown, synopsis?: string): string {
  if (error instanceof UsageError) {
    const hint = synopsis === undefined ? "--help lists the options" : `usage: ${synopsis} (--help lists the options)`;
    return `${tool}: usage error: ${error.message}\n${hint}\n`;
  }
  if (error instanceof CliError) return `${tool}: ${error.message}\n`;
  return `${tool}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`;
}

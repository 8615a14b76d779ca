// One option table per command-line tool: node:util parseArgs (strict, no positionals) parses it into
// typed values, and the --help text is generated from the same table, so the two cannot disagree.
// Pure: no I/O, and nothing heavy imported, so a tool parses before it loads anything else.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./errors.ts";

interface OptionBase {
  /** One line or several ("\n"); shown aligned after the flag. */
  description: string;
  short?: string;
}
export interface StringOption extends OptionBase {
  type: "string";
  /** The placeholder in help, e.g. "<name>". */
  value: string;
  multiple?: boolean;
}
export interface BooleanOption extends OptionBase {
  type: "boolean";
}
export type OptionSpec = StringOption | BooleanOption;
export type OptionTable = Record<string, OptionSpec>;

/** Typed values of a table: booleans are false when absent, strings undefined, repeatables []. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]: T[K] extends BooleanOption ? boolean : T[K] extends { multiple: true } ? string[] : string | undefined;
} & { help: boolean };

export interface CommandSpec<T extends OptionTable> {
  /** The name stderr lines start with, e.g. "drift". */
  tool: string;
  /** How to run it, e.g. "npm run -s drift -- --preview <file> [--json]". */
  synopsis: string;
  /** What it does (before the options). */
  summary: string;
  options: T;
  /** After the options: output, exit codes, where to read more. */
  notes?: string;
}

export interface Command<T extends OptionTable> {
  readonly tool: string;
  readonly synopsis: string;
  readonly help: string;
  /** Throws UsageError for an unknown flag, a missing value or a positional argument. */
  parse(argv: readonly string[]): OptionValues<T>;
}

const HELP: BooleanOption = { type: "boolean", short: "h", description: "this help" };
const COLUMN = 2;

export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): Command<T> {
  if ("help" in spec.options) throw new Error(`${spec.tool}: --help is added by defineCommand`);
  const table: OptionTable = { ...spec.options, help: HELP };
  const config: ParseArgsOptionsConfig = {};
  for (const [name, o] of Object.entries(table)) {
    config[name] = o.type === "string" ? { type: "string", ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) } : { type: "boolean", ...(o.short ? { short: o.short } : {}) };
  }
  return {
    tool: spec.tool,
    synopsis: spec.synopsis,
    help: renderHelp(spec, table),
    parse(argv) {
      let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
      try {
        ({ values } = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: false }));
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const out: Record<string, string | boolean | string[] | undefined> = {};
      for (const [name, o] of Object.entries(table)) {
        const v = values[name];
        if (o.type === "boolean") out[name] = v === true;
        else if (o.multiple) out[name] = (v as string[] | undefined) ?? [];
        else out[name] = v as string | undefined;
      }
      return out as OptionValues<T>;
    },
  };
}

function renderHelp(spec: CommandSpec<OptionTable>, table: OptionTable): string {
  const flags = Object.entries(table).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value}` : ""}`;
    return { flag, lines: o.description.split("\n") };
  });
  const width = Math.min(Math.max(...flags.map((f) => f.flag.length)), 20) + COLUMN;
  const pad = " ".repeat(COLUMN + width);
  const rows = flags.flatMap(({ flag, lines }) => {
    const first = flag.length + COLUMN <= width ? [`  ${flag.padEnd(width)}${lines[0]}`] : [`  ${flag}`, `${pad}${lines[0]}`];
    return [...first, ...lines.slice(1).map((l) => `${pad}${l}`)];
  });
  return [`usage: ${spec.synopsis}`, "", spec.summary.trimEnd(), "", "Options:", ...rows, ...(spec.notes ? ["", spec.notes.trimEnd()] : []), ""].join("\n");
}

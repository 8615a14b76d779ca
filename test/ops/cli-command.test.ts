// The shared command-line layer of the tools (tools/cli/): one option table gives the parser and the
// --help text; a bad command line is one usage error; every tool prints its errors the same way.
import assert from "node:assert/strict";
import { defineCommand } from "../../tools/cli/command.ts";
import { CliError, describeCliError, EXIT_USAGE, UsageError } from "../../tools/cli/errors.ts";
import { runCli } from "../../tools/cli/main.ts";

const command = defineCommand({
  tool: "demo",
  synopsis: "npm run demo -- --stack <name> [--json] [--fault <name>]...",
  summary: "Does a demo.",
  options: {
    stack: { type: "string", value: "<name>", description: "the stack" },
    fault: { type: "string", value: "<name>", multiple: true, description: "a fault\n(repeatable)" },
    json: { type: "boolean", description: "one JSON document" },
  },
  notes: "Exit codes: 0 ok, 2 usage error.",
});

describe("tools/cli: one option table per tool", () => {
  it("parses typed values: strings, repeatable strings, booleans, --flag=value, -h", () => {
    const v = command.parse(["--stack=prod", "--fault", "a", "--fault", "b", "--json"]);
    assert.deepEqual({ ...v }, { stack: "prod", fault: ["a", "b"], json: true, help: false });
    assert.deepEqual({ ...command.parse([]) }, { stack: undefined, fault: [], json: false, help: false });
    assert.equal(command.parse(["-h"]).help, true);
  });

  it("an unknown flag, a missing value or a positional argument is a UsageError (exit 2)", () => {
    for (const argv of [["--colour"], ["--stack"], ["--stack", "--json"], ["prod"], ["--json=yes"]]) {
      assert.throws(
        () => command.parse(argv),
        (e: unknown) => e instanceof UsageError && e.exitCode === EXIT_USAGE,
        argv.join(" "),
      );
    }
  });

  it("--help is generated from the table: every option, its placeholder and its description", () => {
    assert.match(command.help, /^usage: npm run demo -- --stack <name>/);
    for (const line of ["--stack <name>", "--fault <name>", "(repeatable)", "--json", "-h, --help", "Exit codes: 0 ok"]) {
      assert.ok(command.help.includes(line), `help lacks ${line}:\n${command.help}`);
    }
    // Continuation lines align under the first line of their description.
    const lines = command.help.split("\n");
    const first = lines.find((l) => l.includes("--fault <name>"))!;
    const next = lines[lines.indexOf(first) + 1]!;
    assert.equal(next.indexOf("(repeatable)"), first.indexOf("a fault"));
  });

  it("errors print one way: `<tool>: <message>`; a usage error adds the synopsis and --help", () => {
    assert.equal(describeCliError("demo", new CliError("unknown stack x", 2)), "demo: unknown stack x\n");
    assert.equal(
      describeCliError("demo", new UsageError("Unknown option '--colour'"), command.synopsis),
      `demo: usage error: Unknown option '--colour'\nusage: ${command.synopsis} (--help lists the options)\n`,
    );
    assert.match(describeCliError("demo", new Error("boom")), /^demo: failed: Error: boom/);
  });

  it("runCli: main's code, the CliError's code, or the tool's failure code", async () => {
    const entry = { tool: "demo", synopsis: command.synopsis, failureExitCode: 3 };
    let err = "";
    const capture = (t: string) => void (err += t);
    assert.equal(await runCli([], entry, () => Promise.resolve(1), capture), 1);
    assert.equal(await runCli(["--colour"], entry, (argv) => Promise.resolve(command.parse(argv) ? 0 : 0), capture), 2);
    assert.match(err, /^demo: usage error: Unknown option '--colour'/);
    assert.equal(await runCli([], entry, () => Promise.reject(new CliError("no report", 4)), capture), 4);
    assert.equal(await runCli([], entry, () => Promise.reject(new Error("bug")), capture), 3);
  });
});

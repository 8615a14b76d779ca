// `npm run drift -- --preview <file> [--json] [--repo <dir>] [--deployed-ref <ref>]`
// Turns `pulumi preview --json` output into a drift report. The I/O lives here; parsing and
// diffing are pure, in tools/drift/. Exit codes: 0 in sync, 1 drift found, 2 no report (the input
// is missing, not JSON, not a preview, a failed preview; or the tool itself failed).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_PIPELINE } from "../functions/core/pipeline-defaults.ts";
import { commitsBehind, deployedRefFor, openRepo } from "./drift/git-history.ts";
import type { UnreadableKind } from "./drift/parse-preview.ts";
import { readPreview } from "./drift/parse-preview.ts";
import { renderMarkdown } from "./drift/render.ts";
import type { DriftReport } from "./drift/report.ts";
import { buildDriftReport } from "./drift/report.ts";
import { defineCommand } from "./cli/command.ts";
import { UsageError } from "./cli/errors.ts";
import { runIfMain } from "./cli/main.ts";

export const EXIT_IN_SYNC = 0;
export const EXIT_DRIFT = 1;
export const EXIT_NO_REPORT = 2;

export const DRIFT_COMMAND = defineCommand({
  tool: "drift",
  synopsis: "npm run -s drift -- --preview <file> [--json] [--repo <dir>] [--deployed-ref <ref>]",
  summary: `Reads the output of \`pulumi preview --json\` (best with --refresh and --show-sames) and reports,
per Cloud Function, the deployed code hash against the code at hand (in-sync, code-drift, new,
removed), and every other resource the preview would change, with the changed properties.`,
  options: {
    preview: { type: "string", value: "<file>", description: "the preview document (required)" },
    json: {
      type: "boolean",
      description: `print one JSON document:
{"inSync", "stack", "functions": [{"name", "deployedHash", "currentHash",
 "status", "commitsBehind"?}], "resources": [{"urn", "type", "op",
 "properties", "refresh"?}]}`,
    },
    repo: { type: "string", value: "<dir>", description: "git repository to count commits behind in (default: the current\ndirectory, when it is in a git repository)" },
    "deployed-ref": { type: "string", value: "<ref>", description: "the commit deployed to the stack (default: tag deployed/<stack>)" },
  },
  notes: `Output is markdown (a GitHub issue body as is); colour only on a terminal without NO_COLOR.
Exit status: 0 in sync, 1 drift found, 2 no report (missing file, not JSON, not a preview
document, a failed preview, or a failure of this tool). See docs/DRIFT.md.`,
});

interface CliOptions {
  json: boolean;
  repo?: string | undefined;
  deployedRef?: string | undefined;
}

export async function main(argv: string[]): Promise<number> {
  const values = DRIFT_COMMAND.parse(argv);
  if (values.help) {
    process.stdout.write(DRIFT_COMMAND.help);
    return EXIT_IN_SYNC;
  }
  if (values.preview === undefined) throw new UsageError("--preview <file> is required");
  const options: CliOptions = { json: values.json, repo: values.repo, deployedRef: values["deployed-ref"] };

  const input = await readInput(values.preview);
  const verdict = "text" in input ? readPreview(input.text) : input;
  if (!verdict.ok) return noReport(options, values.preview, verdict.kind, verdict.reason);

  const repoDir = path.resolve(options.repo ?? process.cwd());
  const report = buildDriftReport(verdict.digest, { knownFunctionNames: await knownFunctionNames(repoDir) });
  await addCommitsBehind(report, repoDir, options);

  if (options.json) {
    process.stdout.write(`${JSON.stringify(toJson(report), null, 2)}\n`);
  } else {
    const color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
    process.stdout.write(renderMarkdown(report, { color }));
  }
  return report.inSync ? EXIT_IN_SYNC : EXIT_DRIFT;
}

async function readInput(
  file: string,
): Promise<{ text: string } | { ok: false; kind: UnreadableKind; reason: string }> {
  try {
    return { text: await readFile(file, "utf8") };
  } catch (error) {
    // Reported with exit 2 and the reason; this is the "input unreadable" outcome.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, kind: "missing-file", reason: "the file does not exist" };
    return { ok: false, kind: "missing-file", reason: `the file cannot be read (${code ?? (error as Error).message})` };
  }
}

function noReport(options: CliOptions, file: string, kind: UnreadableKind, reason: string): number {
  process.stderr.write(`drift: no report from ${file}: ${kind}: ${reason}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify({ error: { kind, reason } }, null, 2)}\n`);
  return EXIT_NO_REPORT;
}

/** Names to call functions by: the build manifest's (when built) and the pipeline model's. */
async function knownFunctionNames(repoDir: string): Promise<string[]> {
  const names = new Set(DEFAULT_PIPELINE.transitions.map((t) => t.functionName));
  const manifestPath = path.join(repoDir, "dist", "functions", "manifest.json");
  const text = await readFile(manifestPath, "utf8").catch((error: NodeJS.ErrnoException) => {
    // No build yet is normal (names then come from the model); any other failure propagates.
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (text !== undefined) {
    const manifest = JSON.parse(text) as { functions?: Record<string, unknown> };
    for (const name of Object.keys(manifest.functions ?? {})) names.add(name);
  }
  return [...names];
}

async function addCommitsBehind(report: DriftReport, repoDir: string, options: CliOptions): Promise<void> {
  const drifted = report.functions.filter((f) => f.status === "code-drift");
  if (drifted.length === 0) return;
  const repo = await openRepo(repoDir);
  if ("reason" in repo) {
    process.stderr.write(`drift: commits behind not counted: ${repo.reason}\n`);
    return;
  }
  const ref = options.deployedRef ?? (report.stack !== null ? deployedRefFor(report.stack) : undefined);
  if (ref === undefined) {
    process.stderr.write("drift: commits behind not counted: the preview names no stack; pass --deployed-ref\n");
    return;
  }
  for (const fn of drifted) {
    const behind = await commitsBehind(repo, ref, fn.name);
    if (behind.ok) fn.commitsBehind = behind.commits;
    else process.stderr.write(`drift: commits behind unknown for ${fn.name}: ${behind.reason}\n`);
  }
}

/** The JSON document: the report without internal fields. */
function toJson(report: DriftReport): object {
  return {
    inSync: report.inSync,
    stack: report.stack,
    functions: report.functions.map((f) => ({
      name: f.name,
      deployedHash: f.deployedHash,
      currentHash: f.currentHash,
      status: f.status,
      ...(f.commitsBehind !== undefined ? { commitsBehind: f.commitsBehind } : {}),
    })),
    resources: report.resources,
  };
}

// No report could be produced when the tool itself fails: exit 2, never 1 (which means "drift found").
await runIfMain(import.meta.url, { tool: "drift", synopsis: DRIFT_COMMAND.synopsis, failureExitCode: EXIT_NO_REPORT }, main);

// Renders a drift report for people: a markdown document that reads in a terminal and pastes
// into a GitHub issue unchanged. Colour is opt-in per call (the CLI enables it only for a TTY
// without NO_COLOR): escape codes in a pasted report or a piped grep were docs/ARCHITECTURE.md FM10.
import type { DriftReport, FunctionDrift, FunctionStatus, ResourceChange } from "./report.ts";
import { nameOfUrn } from "./report.ts";

export interface RenderOptions {
  color: boolean;
}

/** Hashes are shown like git shows commits; the JSON output carries them in full. */
const SHORT_HASH = 12;

const STATUS_COLOR: Record<FunctionStatus, string> = {
  "in-sync": "\u001b[32m",
  "code-drift": "\u001b[31m",
  new: "\u001b[33m",
  removed: "\u001b[33m",
};
const RESET = "\u001b[0m";

export function renderMarkdown(report: DriftReport, options: RenderOptions): string {
  const lines: string[] = [];
  lines.push(`## Drift report${report.stack ? `: stack \`${report.stack}\`` : ""}`, "");
  lines.push(summaryLine(report), "");
  lines.push("### Functions", "");
  if (report.functions.length === 0) {
    lines.push("The preview shows no Cloud Function.", "");
  } else {
    lines.push("| Function | Status | Deployed code | Code at hand | Commits behind |");
    lines.push("| --- | --- | --- | --- | --- |");
    for (const fn of report.functions) lines.push(functionRow(fn, options));
    lines.push("");
  }
  lines.push("### Other resources that would change", "");
  if (report.resources.length === 0) {
    lines.push("None.", "");
  } else {
    lines.push("| Resource | Type | Operation | Changed properties |");
    lines.push("| --- | --- | --- | --- |");
    for (const resource of report.resources) lines.push(resourceRow(resource));
    lines.push("");
  }
  return lines.join("\n");
}

function summaryLine(report: DriftReport): string {
  if (report.inSync) {
    return `**In sync**: ${count(report.functions.length, "function")} checked, no other resource would change.`;
  }
  const byStatus = (status: FunctionStatus) => report.functions.filter((f) => f.status === status).length;
  const parts = [
    [byStatus("code-drift"), "with code drift"],
    [byStatus("new"), "new"],
    [byStatus("removed"), "removed"],
  ]
    .filter(([n]) => n !== 0)
    .map(([n, what]) => `${count(n as number, "function")} ${what as string}`);
  if (report.resources.length > 0) parts.push(`${count(report.resources.length, "other resource")} would change`);
  return `**Drift found**: ${parts.join(", ")}.`;
}

function functionRow(fn: FunctionDrift, options: RenderOptions): string {
  const status = options.color ? `${STATUS_COLOR[fn.status]}${fn.status}${RESET}` : fn.status;
  return row([
    cell(fn.name),
    status,
    hashCell(fn.deployedHash),
    hashCell(fn.currentHash),
    fn.commitsBehind === undefined ? "" : String(fn.commitsBehind),
  ]);
}

function resourceRow(resource: ResourceChange): string {
  const op = resource.refresh ? `${resource.op} (refresh found: ${resource.refresh})` : resource.op;
  const properties = resource.properties.length === 0 ? "" : resource.properties.map(code).join(", ");
  return row([code(nameOfUrn(resource.urn)), code(resource.type), op, properties]);
}

function hashCell(hash: string | null): string {
  if (hash === null) return "none";
  return code(hash.slice(0, SHORT_HASH));
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** A table cell: a pipe would end the cell early. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  return `${fence}${cell(text)}${fence}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

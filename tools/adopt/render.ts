// The human report of an adoption plan: what is imported, what must be replaced and what that
// means for the running pipeline, and the commands to run. Pure.
import type { AdoptPlan } from "./plan.ts";

export function renderAdoptReport(plan: AdoptPlan, importFile: string | undefined): string {
  const lines: string[] = [`## Adoption of the existing system: stack \`${plan.stack}\``, ""];
  lines.push(
    `${plan.imported.length} resource(s) to import, ${plan.replaced.length} to replace, ` +
      `${plan.document.resources.filter((r) => r.component === true).length} empty parent component(s) created by the import.`,
    "",
  );
  lines.push("### Imported (adopted as they are; the next `pulumi up` updates them in place)", "");
  if (plan.imported.length === 0) lines.push("Nothing: the program declares no name the existing system uses.", "");
  else {
    lines.push("| Resource | Type | Existing | Import id | Holds data |", "| --- | --- | --- | --- | --- |");
    for (const r of plan.imported) lines.push(`| ${r.logicalName} | ${r.type} | ${r.physicalName} | \`${r.id}\` | ${r.dataHolding ? "yes" : "no"} |`);
    lines.push("");
  }
  lines.push("### Replaced (cannot be adopted)", "");
  if (plan.replaced.length === 0) lines.push("None.", "");
  for (const r of plan.replaced) {
    lines.push(`- **${r.what}** \`${r.name}\` -> ours: \`${r.replacedBy}\``, `  - why: ${r.reason}`, `  - for the pipeline: ${r.impact}`);
  }
  if (plan.replaced.length > 0) lines.push("");
  if (plan.leftAlone.length > 0) {
    lines.push("### Existing, not declared under that name", "");
    for (const r of plan.leftAlone) lines.push(`- ${r.what} \`${r.name}\`: ${r.note}`);
    lines.push("");
  }
  lines.push("### Next", "");
  const file = importFile ?? "<file>";
  lines.push(
    `1. \`pulumi stack select ${plan.stack}\` on a stack with no resources yet, then \`pulumi import --file ${file} --protect --generate-code=false --yes\`.`,
    "2. `pulumi preview --diff`: the imported resources must show as updates or sames, never as replace; a replace of a dataset, table, topic or",
    "   the Firestore database means its declared settings differ from what exists: align the declaration before going on.",
    "3. Runbook: docs/runbooks/cutover.md.",
    "",
  );
  return lines.join("\n");
}

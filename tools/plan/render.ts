// Renders a plan: a readable table for people, or exactly one JSON document for machines.
import type { PlanResult } from "./evaluate.ts";

/** Inputs worth a glance in the table: the physical name, where it points. */
function summary(inputs: Record<string, unknown>): string {
  for (const key of ["name", "accountId", "datasetId", "tableId", "secretId", "displayName", "role"]) {
    const v = inputs[key];
    if (typeof v === "string" && v !== "") {
      const member = typeof inputs.member === "string" ? ` -> ${inputs.member}` : "";
      return `${key}=${v}${member}`;
    }
  }
  return "";
}

export function renderTable(plan: PlanResult): string {
  const rows = plan.resources.map((r) => [r.type, r.name, summary(r.inputs)] as const);
  const w0 = Math.max(4, ...rows.map((r) => r[0].length));
  const w1 = Math.max(4, ...rows.map((r) => r[1].length));
  const lines = [`stack ${plan.stack}: ${plan.resources.length} resources`, ""];
  lines.push(`${"TYPE".padEnd(w0)}  ${"NAME".padEnd(w1)}  DETAIL`);
  for (const [t, n, d] of rows) lines.push(`${t.padEnd(w0)}  ${n.padEnd(w1)}  ${d}`.trimEnd());
  lines.push("", "outputs:", JSON.stringify(plan.outputs, null, 2));
  if (plan.placeholders.length > 0) {
    lines.push("", `note: secrets are placeholders in this offline plan, shown as "[secret]": ${plan.placeholders.join(", ")}`);
  }
  return lines.join("\n") + "\n";
}

/** The --json document: {"stack", "resources": [{"type", "name", "inputs"}], "outputs"}. */
export function planJson(plan: PlanResult): string {
  return JSON.stringify({
    stack: plan.stack,
    resources: plan.resources.map((r) => ({ type: r.type, name: r.name, inputs: plainInputs(r.inputs) })),
    outputs: plan.outputs,
  });
}

/** Inputs as JSON (assets were already made plain by the evaluator). */
function plainInputs(value: unknown): unknown {
  return value;
}

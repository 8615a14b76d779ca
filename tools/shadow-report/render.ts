// The shadow report for people: one line per transition and date, the verdict first. Pure.
import type { Comparison, ComparisonRow } from "./compare.ts";

export const OUTCOME_TEXT: Record<ComparisonRow["outcome"], string> = {
  both: "both triggered",
  only_existing: "only the existing system triggered",
  only_ours: "only ours triggered",
  neither: "neither triggered",
};

const seconds = (ms: number): string => `${ms >= 0 ? "+" : ""}${(ms / 1000).toFixed(1)} s`;

export function renderShadowReport(stack: string, c: Comparison): string {
  const lines = [`## Shadow comparison: stack \`${stack}\``, ""];
  lines.push(
    c.agree
      ? `**Agree**: ${c.rows.length} transition/date pair(s), every one triggered alike (or by neither).`
      : `**Disagree**: ${c.rows.filter((r) => !r.agree).length} of ${c.rows.length} transition/date pair(s) differ.`,
    "",
  );
  if (c.rows.length === 0) return [...lines, "Nothing to compare yet.", ""].join("\n");
  lines.push("| Date | Transition | Outcome | Ours vs existing | Differences in fields read downstream | Triggers (ours/existing) |", "| --- | --- | --- | --- | --- | --- |");
  for (const r of c.rows) {
    const diff = r.differences.map((d) => `${d.field}: ours ${JSON.stringify(d.ours)}, existing ${JSON.stringify(d.existing)}`).join("; ") || (r.outcome === "both" ? "none" : "");
    lines.push(`| ${r.gameDate} | ${r.transitionId} | ${r.agree ? "" : "**"}${OUTCOME_TEXT[r.outcome]}${r.agree ? "" : "**"} | ${r.delayMs === undefined ? "" : seconds(r.delayMs)} | ${diff} | ${r.counts.ours}/${r.counts.existing} |`);
  }
  lines.push("");
  return lines.join("\n");
}

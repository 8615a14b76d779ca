// `npm run chaos -- --logs <file>`: every log line of every function instance, for diagnosing a run.
// The report keeps WARNING and worse; a broken invariant often needs the INFO lines around it too.
import { writeFile } from "node:fs/promises";

interface LoggingInstance {
  readonly logs: readonly Record<string, unknown>[];
}

/** One JSON object per line, each log line with its function and instance index added, in time order. */
export function functionLogLines(instances: ReadonlyMap<string, readonly LoggingInstance[]>): string[] {
  const lines: { time: string; text: string }[] = [];
  for (const [fn, group] of instances) {
    group.forEach((instance, index) => {
      for (const line of instance.logs) lines.push({ time: String(line.time ?? ""), text: JSON.stringify({ function: fn, instance: index, ...line }) });
    });
  }
  // Stable sort by ISO time: lines of one instant keep their order; a line without a time comes first.
  return lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).map((l) => l.text);
}

/** Writes the lines; returns how many. */
export async function writeFunctionLogs(file: string, instances: ReadonlyMap<string, readonly LoggingInstance[]>): Promise<number> {
  const lines = functionLogLines(instances);
  await writeFile(file, lines.length === 0 ? "" : `${lines.join("\n")}\n`);
  return lines.length;
}

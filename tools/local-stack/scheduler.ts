// Cloud Scheduler, locally: every declared scheduler job calls its target function with the declared
// HTTP method on a short interval (the declared cron would mean waiting minutes to an hour). Used by
// the game day, by `npm start -- --keep-running` after it, and by the chaos run.
import type { LocalStack } from "./stack.ts";

/** How often the scheduled jobs are called while `npm start -- --keep-running` leaves the stack up. */
export const KEEP_RUNNING_SCHEDULE_MS = 5000;

export interface LocalScheduler {
  /** What runs differently from the cloud, for the report. */
  readonly overrides: string[];
  /** Calls made so far, per function. */
  readonly calls: ReadonlyMap<string, number>;
  stop(): void;
}

export interface SchedulerOptions {
  intervalMs: number;
  log: (line: string) => void;
  /** Every call's promise (it rejects when the call fails), so the caller decides what a failure means. */
  track: (call: Promise<unknown>, what: string) => void;
}

export function startScheduler(stack: Pick<LocalStack, "plan" | "functions" | "urls">, o: SchedulerOptions): LocalScheduler {
  const overrides: string[] = [];
  const calls = new Map<string, number>();
  const timers: NodeJS.Timeout[] = [];
  for (const job of stack.plan.schedules) {
    const fn = stack.functions.get(job.functionName);
    const url = stack.urls.get(job.functionName);
    if (fn === undefined || url === undefined) continue;
    overrides.push(`scheduler job ${job.name} (${job.schedule}) calls ${job.functionName} every ${o.intervalMs / 1000} s`);
    timers.push(
      setInterval(() => {
        // While the function is replaced (killed, restarting) Cloud Scheduler's call would fail and be
        // retried on the next tick; skipping the tick is the same.
        if (!fn.running()) return;
        calls.set(job.functionName, (calls.get(job.functionName) ?? 0) + 1);
        o.track(
          fetch(`${url}/`, { method: job.httpMethod, headers: { "content-type": "application/json" }, body: "{}", signal: AbortSignal.timeout(60_000) }).then(async (res) => {
            const text = await res.text();
            if (res.status >= 300) o.log(`  [scheduler] ${job.functionName} answered ${res.status}: ${text.slice(0, 200)}`);
          }),
          `scheduler call of ${job.functionName}`,
        );
      }, o.intervalMs),
    );
  }
  return {
    overrides,
    calls,
    stop: () => {
      for (const t of timers.splice(0)) clearInterval(t);
    },
  };
}

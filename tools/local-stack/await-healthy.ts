// Start-up health of a served function: wait for GET /health to answer 200, or say why it does not.
import { getHealth } from "./function-host.ts";

/** How long a function may stay degraded at start-up (its health result is cached 30 s, so two real checks). */
export const HEALTH_DEADLINE_MS = 75_000;

/**
 * Waits for GET /health to answer 200. "misconfigured" (the runtime rejected its environment, e.g. a
 * variable the program does not set) fails at once; a dependency that stays unhealthy fails at the
 * deadline. A first check may time out on a cold, busy machine, hence the patience.
 */
export async function awaitHealthy(name: string, url: string, log: (line: string) => void): Promise<string | undefined> {
  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  let reported = false;
  for (;;) {
    const h = await getHealth(url);
    if (h.status === 200) return undefined;
    if (h.body.status === "misconfigured") return `${name} is misconfigured: ${String(h.body.error)}`;
    const deps = Object.entries((h.body.dependencies ?? {}) as Record<string, { healthy?: boolean; error?: string }>)
      .filter(([, d]) => d.healthy !== true)
      .map(([dep, d]) => `${dep} (${d.error ?? "unhealthy"})`);
    const why = `${name} /health answered ${h.status}${deps.length > 0 ? `: ${deps.join(", ")}` : `: ${JSON.stringify(h.body).slice(0, 300)}`}`;
    if (Date.now() > deadline) return why;
    if (!reported) log(`  waiting for ${why}; re-checking (health results are cached for 30 s)`);
    reported = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// The end of `npm start -- --shadow`: the shadow report (the code behind `npm run shadow:report`)
// read from this stack's own emulators, named explicitly (never from whatever emulator variables the
// calling process has), for the game dates of the run.
import { shadowReport, type ShadowReport } from "../shadow-report.ts";
import type { LocalStack } from "./stack.ts";

/** Stack config the local stack is evaluated with for a shadow game day. */
export const SHADOW_CONFIG: Readonly<Record<string, string>> = { triggerMode: "shadow" };

export function localShadowReport(stack: Pick<LocalStack, "plan" | "project" | "firestorePrefix" | "pipeline" | "firestore" | "pubsub">, dates: readonly string[]): Promise<ShadowReport> {
  const sorted = [...dates].sort();
  return shadowReport({
    stack: stack.plan.stack,
    projectId: stack.project,
    firestorePrefix: stack.firestorePrefix,
    pipeline: stack.pipeline,
    // The emulators themselves, not the fault proxies in front of them (those are the functions' path).
    endpoints: { firestoreEmulatorHost: stack.firestore.host, pubsubEmulatorHost: stack.pubsub.host },
    since: sorted[0],
    until: sorted.at(-1),
  });
}

// `--shadow-disagree <transition>[:<how>]`: where the simulated existing orchestrator
// (existing-system.ts) differs from ours on purpose, so the shadow report's disagreement paths can be
// exercised. Pure, and light: the argument parser imports it.

export const DISAGREE_KINDS = ["skip", "early", "field"] as const;
export type DisagreeKind = (typeof DISAGREE_KINDS)[number];

export interface Disagreement {
  transitionId: string;
  kind: DisagreeKind;
}

/** trigger_id prefix of the simulated existing system's triggers (ours are `<transition>:<date>:<mode>`). */
export const EXISTING_TRIGGER_ID_PREFIX = "existing-system:";

/** `<transition>[:<kind>]` (kind defaults to skip); throws naming what is wrong. The transition is checked against the stack's pipeline later. */
export function parseDisagreement(spec: string): Disagreement {
  const [transitionId = "", kind = "skip", ...rest] = spec.split(":");
  if (transitionId === "" || rest.length > 0 || !(DISAGREE_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`--shadow-disagree ${JSON.stringify(spec)}: expected <transition>[:${DISAGREE_KINDS.join("|")}]`);
  }
  return { transitionId, kind: kind as DisagreeKind };
}

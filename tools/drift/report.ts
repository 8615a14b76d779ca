// Turns a preview digest into a drift report: per Cloud Function, the code that is deployed
// against the code at hand; and every other resource the preview would change, with the
// properties that differ. Pure: no files, no git, no clock.
//
// How steps are read (see docs/DRIFT.md for the reasoning):
// - A URN can appear in several steps. With `--refresh`, the refresh pass comes first: a step
//   with op "refresh" when the cloud matched the state, or one rewritten to "update" (changed out
//   of band) or "delete" (gone out of band); the program's own step follows. Replacements show
//   as "replace" or as create-replacement/delete-replaced pairs. Steps of one URN are grouped.
// - "same", "refresh" and "read" are not changes. Without `--show-sames` a resource that would
//   stay the same has no program step at all; for a function, that still proves its inputs,
//   CODE_HASH included, equal the deployed ones.
import {
  codeHashIn,
  fullHashInText,
  isCodeProperty,
  sameCode,
  stringAt,
} from "./code-hash.ts";
import type { PreviewDigest, PreviewResourceState, PreviewStep } from "./preview-types.ts";
import { BUCKET_OBJECT_TYPE, FUNCTION_TYPE } from "./preview-types.ts";

export type FunctionStatus = "in-sync" | "code-drift" | "new" | "removed";

export interface FunctionDrift {
  /** The model's function name when known (e.g. phase2-to-phase3-orchestrator), else the deployed name. */
  name: string;
  urn: string;
  /** Full sha256, or the label's prefix when that is all the state holds; null when nothing is deployed. */
  deployedHash: string | null;
  /** The hash of the code at hand (the program's inputs); null when the program removes the function. */
  currentHash: string | null;
  status: FunctionStatus;
  /** Commits the deployed code is behind (see docs/DRIFT.md); absent when it cannot be determined. */
  commitsBehind?: number;
}

export interface ResourceChange {
  urn: string;
  type: string;
  /** The operation the preview would perform ("replace" for any replacement sequence). */
  op: string;
  /** Changed properties: detailedDiff keys, else diffReasons/replaceReasons. */
  properties: string[];
  /** What the refresh found changed out of band, when it did: "update" or "delete". */
  refresh?: "update" | "delete";
}

export interface DriftReport {
  /** The stack named in the URNs. */
  stack: string | null;
  inSync: boolean;
  functions: FunctionDrift[];
  resources: ResourceChange[];
}

export interface ReportOptions {
  /** Model function names (from the build manifest and the pipeline model), to name functions by. */
  knownFunctionNames?: readonly string[];
}

const NO_CHANGE_OPS = new Set(["same", "refresh", "read"]);
const REPLACE_OPS = new Set([
  "replace",
  "create-replacement",
  "delete-replaced",
  "read-replacement",
  "discard-replaced",
  "import-replacement",
]);
const REFRESH_RESULT_OPS = new Set(["update", "delete"]);

interface ResourceSteps {
  urn: string;
  type: string;
  /** The refresh pass's finding when it differed from the state. */
  refresh?: PreviewStep & { op: "update" | "delete" };
  /** The program's steps (or the lone "refresh" step when the program step was hidden as "same"). */
  program: PreviewStep[];
}

export function buildDriftReport(digest: PreviewDigest, options: ReportOptions = {}): DriftReport {
  const groups = groupByUrn(digest.steps ?? []);
  const functions: FunctionDrift[] = [];
  for (const group of groups) {
    if (group.type === FUNCTION_TYPE) functions.push(functionDrift(group, options.knownFunctionNames ?? []));
  }
  const drifted = functions.filter((f) => f.status !== "in-sync");
  const resources: ResourceChange[] = [];
  for (const group of groups) {
    const change = resourceChange(group);
    if (!change) continue;
    if (group.type === FUNCTION_TYPE) {
      const fn = functions.find((f) => f.urn === group.urn);
      const explained = fn !== undefined && fn.status !== "in-sync";
      if (explained && !group.refresh) {
        // New and removed functions are reported as such; drifted code properties likewise.
        if (change.op === "create" || change.op === "delete") continue;
        change.properties = change.properties.filter((p) => !isCodeProperty(p));
        if (change.properties.length === 0) continue;
      }
    } else if (group.type === BUCKET_OBJECT_TYPE && !group.refresh && isDriftedCodeArchive(group, drifted)) {
      // The archive of a drifted function's old or new code: the function row already says it.
      continue;
    }
    resources.push(change);
  }
  return {
    stack: stackOf(groups[0]?.urn),
    inSync: drifted.length === 0 && resources.length === 0,
    functions: functions.sort((a, b) => a.name.localeCompare(b.name)),
    resources,
  };
}

function groupByUrn(steps: readonly PreviewStep[]): ResourceSteps[] {
  const byUrn = new Map<string, PreviewStep[]>();
  for (const step of steps) {
    const list = byUrn.get(step.urn);
    if (list) list.push(step);
    else byUrn.set(step.urn, [step]);
  }
  return [...byUrn.entries()].map(([urn, list]) => {
    const first = list[0];
    const refreshFound =
      list.length > 1 && first !== undefined && REFRESH_RESULT_OPS.has(first.op) ? first : undefined;
    const type =
      list.find((s) => s.newState?.type)?.newState?.type ??
      list.find((s) => s.oldState?.type)?.oldState?.type ??
      typeOfUrn(urn);
    return {
      urn,
      type,
      ...(refreshFound ? { refresh: refreshFound as PreviewStep & { op: "update" | "delete" } } : {}),
      program: refreshFound ? list.slice(1) : list,
    };
  });
}

function functionDrift(group: ResourceSteps, knownNames: readonly string[]): FunctionDrift {
  const deployedState = group.refresh?.op === "delete" ? undefined : deployedStateOf(group);
  const currentState = currentStateOf(group);
  const programChanges = group.program.some((s) => !NO_CHANGE_OPS.has(s.op));
  const deployed = deployedState ? hashOfDeployed(deployedState) : undefined;
  const name = functionNameOf(group.urn, [currentState, deployedState], knownNames, stackOf(group.urn));

  if (!deployedState) {
    return { name, urn: group.urn, deployedHash: null, currentHash: hashOfCurrent(currentState), status: "new" };
  }
  if (!currentState) {
    // Only a refresh step with no difference: the engine kept the function as it is ("same",
    // hidden without --show-sames), so the code at hand is the deployed code.
    if (!programChanges) {
      return { name, urn: group.urn, deployedHash: deployed ?? null, currentHash: deployed ?? null, status: "in-sync" };
    }
    return { name, urn: group.urn, deployedHash: deployed ?? null, currentHash: null, status: "removed" };
  }
  const current = hashOfCurrent(currentState);
  const inSync = deployed !== undefined && current !== null && sameCode(deployed, current);
  return {
    name,
    urn: group.urn,
    deployedHash: deployed ?? null,
    currentHash: current,
    status: inSync ? "in-sync" : "code-drift",
  };
}

/** What runs now: the state the program's first step starts from (refreshed, with --refresh). */
function deployedStateOf(group: ResourceSteps): PreviewResourceState | undefined {
  return group.program.find((s) => s.oldState)?.oldState ?? group.refresh?.newState;
}

/** What the program declares: the last program step's new state. */
function currentStateOf(group: ResourceSteps): PreviewResourceState | undefined {
  return [...group.program].reverse().find((s) => s.newState && !NO_CHANGE_OPS_WITHOUT_SAME.has(s.op))?.newState;
}
/** A "refresh" step's new state is the cloud's, not the program's; "same" carries the program's. */
const NO_CHANGE_OPS_WITHOUT_SAME = new Set(["refresh", "read"]);

function hashOfDeployed(state: PreviewResourceState): string | undefined {
  return (codeHashIn(state.outputs) ?? codeHashIn(state.inputs))?.hash;
}

function hashOfCurrent(state: PreviewResourceState | undefined): string | null {
  return codeHashIn(state?.inputs)?.hash ?? null;
}

function resourceChange(group: ResourceSteps): ResourceChange | undefined {
  const changing = group.program.filter((s) => !NO_CHANGE_OPS.has(s.op));
  if (changing.length === 0 && !group.refresh) return undefined;
  const last = changing[changing.length - 1];
  // Only the refresh found a difference and the program accepts it (e.g. ignoreChanges): the
  // preview itself would leave the resource as it is.
  const op = changing.some((s) => REPLACE_OPS.has(s.op)) ? "replace" : (last?.op ?? "same");
  const properties = new Set<string>();
  for (const step of [...(group.refresh ? [group.refresh] : []), ...changing]) {
    for (const key of changedProperties(step)) properties.add(key);
  }
  return {
    urn: group.urn,
    type: group.type,
    op,
    properties: [...properties].sort(),
    ...(group.refresh ? { refresh: group.refresh.op } : {}),
  };
}

function changedProperties(step: PreviewStep): string[] {
  const detailed = Object.keys(step.detailedDiff ?? {});
  if (detailed.length > 0) return detailed;
  return [...(step.diffReasons ?? []), ...(step.replaceReasons ?? [])];
}

/** A code archive whose name holds the old or new hash of a function whose code drifted. */
function isDriftedCodeArchive(group: ResourceSteps, drifted: readonly FunctionDrift[]): boolean {
  const names = group.program.flatMap((s) => [
    stringAt(s.oldState?.inputs, "name"),
    stringAt(s.oldState?.outputs, "name"),
    stringAt(s.newState?.inputs, "name"),
  ]);
  const hashes = names.map(fullHashInText).filter((h): h is string => h !== undefined);
  return hashes.some((hash) =>
    drifted.some(
      (fn) =>
        (fn.deployedHash !== null && sameCode(fn.deployedHash, hash)) ||
        (fn.currentHash !== null && sameCode(fn.currentHash, hash)),
    ),
  );
}

/**
 * The model's name of a function: the longest known name inside the function's `name` or its
 * URN name (so "dev-phase2-to-phase3-orchestrator" reads as "phase2-to-phase3-orchestrator");
 * else the declared `name` (last path segment) without a "<stack>-" prefix; else the URN's name.
 */
export function functionNameOf(
  urn: string,
  states: readonly (PreviewResourceState | undefined)[],
  knownNames: readonly string[],
  stack: string | null = null,
): string {
  const declared = states.flatMap((s) => [stringAt(s?.inputs, "name"), stringAt(s?.outputs, "name")]);
  const candidates = [...declared, nameOfUrn(urn)]
    .map((c) => c?.split("/").pop())
    .filter((c): c is string => c !== undefined && c !== "");
  const known = [...knownNames]
    .sort((a, b) => b.length - a.length)
    .find((k) => candidates.some((c) => c.includes(k)));
  if (known !== undefined) return known;
  const first = candidates[0];
  if (first === undefined) return urn;
  return stack !== null && first.startsWith(`${stack}-`) ? first.slice(stack.length + 1) : first;
}

/** urn:pulumi:<stack>::<project>::<parent$type>::<name> (the name may itself contain "::"). */
export function typeOfUrn(urn: string): string {
  const qualified = urn.split("::")[2] ?? "";
  return qualified.split("$").pop() ?? qualified;
}

export function nameOfUrn(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

export function stackOf(urn: string | undefined): string | null {
  const head = urn?.split("::")[0];
  return head?.startsWith("urn:pulumi:") ? head.slice("urn:pulumi:".length) : null;
}

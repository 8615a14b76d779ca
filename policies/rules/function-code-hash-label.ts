// Code drift is structural (docs/ARCHITECTURE.md, "Compatibility"; FM10): the hash of exactly what
// is uploaded is in the source object's name and in the function's `code-hash` label (and
// CODE_HASH). If they disagree, the label (what drift checks and people read) lies about the code
// that runs.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import type { Unknown } from "../lib/props.ts";
import { dependenciesOf, describe, ofType } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";
import { LABEL_VALUE_MAX } from "../../functions/core/platform-limits.ts";

export const CODE_HASH_LABEL = "code-hash";
/** A label value holds at most LABEL_VALUE_MAX characters: a longer digest is labelled by its prefix. */
export { LABEL_VALUE_MAX };

/** The hex digest in an object name (sha1 to sha512 length; the last one if several), or undefined. */
export function digestInObjectName(objectName: string): string | undefined {
  const found = [...objectName.toLowerCase().matchAll(/(?<![0-9a-f])[0-9a-f]{40,128}(?![0-9a-f])/g)].map((m) => m[0]);
  return found.at(-1);
}

/** The label value a digest must appear as. */
export function expectedLabel(digest: string): string {
  return digest.slice(0, LABEL_VALUE_MAX);
}

/** The storage object names the function's source may be: the literal one, or the objects it was computed from. */
function sourceObjectNames(fn: PolicyResource): (string | Unknown)[] {
  const object = stringAt(fn.props, "buildConfig", "source", "storageSource", "object");
  if (typeof object === "string") return [object];
  if (object === UNKNOWN) {
    return dependenciesOf(fn, "buildConfig", T.bucketObject).map((o) => stringAt(o.props, "name") ?? UNKNOWN);
  }
  return [];
}

export const functionCodeHashLabel: StackValidationPolicy = {
  name: "function-code-hash-label",
  description: `Every function carries a "${CODE_HASH_LABEL}" label equal to the hash in its source object's name (its ${LABEL_VALUE_MAX}-character prefix for a longer digest), and ${RUNTIME_ENV_KEYS.codeHash} equal to that hash when set.`,
  remediationSteps: `Upload each bundle as an object named after its sha256 (e.g. <function>/<sha256>.zip), deploy the function from that object, and set labels["${CODE_HASH_LABEL}"] and ${RUNTIME_ENV_KEYS.codeHash} from the same hash (infra/components/pipeline-function.ts).`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const fn of ofType(args.resources, T.function)) {
      const label = at(fn.props, "labels", CODE_HASH_LABEL);
      if (label === undefined || label === null || label === "") {
        report(`${describe(fn)} has no "${CODE_HASH_LABEL}" label: the code it runs cannot be identified`, fn.urn);
        continue;
      }
      const names = sourceObjectNames(fn);
      if (names.length === 0) {
        report(`${describe(fn)} is not deployed from a storage object declared with its hash (buildConfig.source.storageSource.object)`, fn.urn);
        continue;
      }
      for (const name of names) {
        if (name === UNKNOWN || label === UNKNOWN) continue;
        const digest = digestInObjectName(name);
        if (digest === undefined) {
          report(`source object ${name} of ${describe(fn)} carries no hash in its name: a code change would not force a new deployment`, fn.urn);
          continue;
        }
        if (label !== expectedLabel(digest)) {
          report(`"${CODE_HASH_LABEL}" label ${JSON.stringify(label)} of ${describe(fn)} differs from the hash ${digest} in its source object ${name}`, fn.urn);
        }
        const env = stringAt(fn.props, "serviceConfig", "environmentVariables", RUNTIME_ENV_KEYS.codeHash);
        if (typeof env === "string" && env !== digest) {
          report(`${RUNTIME_ENV_KEYS.codeHash} ${env} of ${describe(fn)} differs from the hash ${digest} in its source object ${name}`, fn.urn);
        }
      }
    }
  },
};

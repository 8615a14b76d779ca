// Zod issues as located problems, the one way every parser of this project reports them: a path
// like `transitions[1].rule.majorityPct` and a message, one per problem. An unrecognized key is
// reported at its own path, so the message names the key (almost always a typo). Pure.
import type { z } from "zod";

// Identifiers, and Pulumi config keys ("<project>:<key>", the project name may hold "-"), read best
// bare; anything else is quoted, so a path never reads two ways.
const PLAIN_KEY = /^(?:[A-Za-z][A-Za-z0-9_-]*:)?[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `["transitions", 1, "rule", "a-b"]` -> `transitions[1].rule["a-b"]`; the empty path is `root`. */
export function formatPath(path: readonly PropertyKey[], root = "(root)"): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && PLAIN_KEY.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === "" ? root : out;
}

/** One problem of a parsed value: where, what, and zod's issue code. */
export interface IssueProblem {
  path: string;
  message: string;
  code: string;
}

type Issues = z.ZodError | readonly z.core.$ZodIssue[];

const issuesOf = (error: Issues): readonly z.core.$ZodIssue[] => ("issues" in error ? error.issues : error);

/** Every problem of a zod error (or its issues); an unrecognized key at its own path, as "unknown key". */
export function issueProblems(error: Issues, root = "(root)"): IssueProblem[] {
  return issuesOf(error).flatMap((issue): IssueProblem[] =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key], root), message: "unknown key", code: issue.code }))
      : [{ path: formatPath(issue.path, root), message: issue.message, code: issue.code }],
  );
}

/** `path: message`, one line per problem, for an error that lists them all; the empty path reads as `root`. */
export function formatIssues(error: Issues, root = "(root)"): string[] {
  return issueProblems(error, root).map((p) => `${p.path}: ${p.message}`);
}

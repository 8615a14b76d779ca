// How the pipeline model reports a bad config: every problem at once, each located by a path like
// `transitions[1].rule.majorityPct`. Pure.
import type { z } from "zod";
import { issueProblems } from "./zod-issues.ts";
import { ConfigurationError } from "./error-family.ts";

/** One problem found in a pipeline config, located by a path like `transitions[1].rule.majorityPct`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Thrown by parse/apply/load: lists every problem at once, each naming its path. */
export class PipelineConfigError extends ConfigurationError {
  override readonly name: string = "PipelineConfigError";
  readonly problems: string[];
  constructor(context: string, problems: string[]) {
    super(`${context}: ${problems.length} problem(s)\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

/** Zod issues -> problems; an unrecognized key is reported at its own path so the key is named. */
export function zodIssuesToProblems(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  return issueProblems(issues).map(({ path, message }) => ({ path, message }));
}

export const formatProblem = (p: ConfigProblem): string => `${p.path}: ${p.message}`;

/** Says "required" for a missing key instead of zod's generic type message. */
export const requiredErrorMap = (issue: z.core.$ZodRawIssue): string | undefined =>
  issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value") ? "required" : undefined;

// Small helpers shared by the policy modules: type filters over raw type tokens.
import type { ResourceValidation, ResourceValidationArgs, ReportViolation } from "@pulumi/policy";

/** A resource validation that runs only for resources of the given type tokens. */
export function forTypes(
  types: readonly string[],
  validate: (props: Record<string, unknown>, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
  return (args, report) => {
    if (types.includes(args.type)) validate(args.props, args, report);
  };
}

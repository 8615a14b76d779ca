// A broken copy of the program for the service-agent policy: the real program, with every IAM
// member re-created as a value that no longer carries the resource it was computed from. For the
// service agents that is exactly a "serviceAccount:service-<number>@gcp-sa-..." string built by hand.
import * as pulumi from "@pulumi/pulumi";
import orchestrationStack from "../../../index.ts";
import type { ProgramOptions } from "../../../index.ts";

/** The same value, without the dependencies an Output carries (a Promise has none). */
function detached(value: pulumi.Output<unknown>): pulumi.Output<unknown> {
  return pulumi.output(new Promise((resolve) => value.apply((v) => resolve(v))));
}

export default async function handBuiltAgents(options?: ProgramOptions): Promise<Record<string, unknown>> {
  pulumi.runtime.registerStackTransformation(({ type, props, opts }) => {
    if (!/iam/i.test(type) || !pulumi.Output.isInstance(props.member)) return undefined;
    return { props: { ...props, member: detached(props.member) }, opts };
  });
  return orchestrationStack(options);
}

// A broken copy of the program for the runner tests: the real program, with a stack transformation
// (applied in-process, so it works under the mock monitor) that strips every subscription's
// dead-letter policy.
import * as pulumi from "@pulumi/pulumi";
import orchestrationStack from "../../../index.ts";
import type { ProgramOptions } from "../../../index.ts";

export default async function brokenStack(options?: ProgramOptions): Promise<Record<string, unknown>> {
  pulumi.runtime.registerStackTransformation(({ type, props, opts }) => {
    if (type !== "gcp:pubsub/subscription:Subscription") return undefined;
    const { deadLetterPolicy: _dropped, ...rest } = props;
    return { props: rest, opts };
  });
  return orchestrationStack(options);
}

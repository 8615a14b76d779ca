// An alert policy without a notification channel fires into the void.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { isDisabled } from "../lib/alerting.ts";
import { at, elementsOf, isUnknown, stringAt, UNKNOWN } from "../lib/props.ts";
import { dependenciesOf, ofType } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

function channelMatches(channel: PolicyResource, ref: string): boolean {
  return [stringAt(channel.props, "name"), stringAt(channel.props, "id")].some((v) => typeof v === "string" && v === ref);
}

export const alertPolicyNotificationChannel: StackValidationPolicy = {
  name: "alert-policy-notification-channel",
  description: "Every enabled alert policy notifies at least one notification channel, and none of its channels is disabled.",
  remediationSteps: "Set notificationChannels on the alert policy to the errors or warnings Slack channel (infra/components/alerting.ts), and keep those channels enabled.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const channels = ofType(args.resources, T.notificationChannel);
    for (const policy of ofType(args.resources, T.alertPolicy)) {
      if (isDisabled(policy.props)) continue;
      const list = at(policy.props, "notificationChannels");
      if (list === UNKNOWN) {
        // Computed during a preview: fine if it comes from declared channels.
        if (dependenciesOf(policy, "notificationChannels", T.notificationChannel).length === 0) {
          report(`alert policy ${policy.name} takes its notification channels from nothing this stack declares`, policy.urn);
        }
        continue;
      }
      const refs = elementsOf(list).filter((c) => isUnknown(c) || (typeof c === "string" && c.trim() !== ""));
      if (refs.length === 0) {
        report(`alert policy ${policy.name} has no notification channel: it would fire without telling anyone`, policy.urn);
        continue;
      }
      for (const ref of refs) {
        if (typeof ref !== "string") continue;
        const channel = channels.find((c) => channelMatches(c, ref));
        if (channel !== undefined && at(channel.props, "enabled") === false) {
          report(`alert policy ${policy.name} notifies ${channel.name}, which is disabled`, policy.urn);
        }
      }
    }
  },
};

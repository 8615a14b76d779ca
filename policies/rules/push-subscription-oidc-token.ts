// Pushes to a function are authenticated: the subscription attaches an OIDC token of a service
// account that holds run.invoker on the function (see push-subscription-invoker).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import { isPushSubscription } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const pushSubscriptionOidcToken: ResourceValidationPolicy = {
  name: "push-subscription-oidc-token",
  description: "Every push subscription sends an OIDC token of a service account to an https endpoint, so the function can stay private (IAM-only invocation).",
  remediationSteps: "Set pushConfig.oidcToken: { serviceAccountEmail: <push account email>, audience: <function URL> } and push to the function's https URL.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.subscription], (props, _args, report) => {
    if (!isPushSubscription(props)) return;
    const endpoint = stringAt(props, "pushConfig", "pushEndpoint");
    if (endpoint === undefined) report("pushConfig has no pushEndpoint");
    else if (endpoint !== UNKNOWN && !endpoint.startsWith("https://")) report(`pushEndpoint ${endpoint} is not https: the OIDC token would travel in clear text`);
    const token = at(props, "pushConfig", "oidcToken");
    if (token === UNKNOWN) return;
    if (token === undefined || token === null) {
      report("pushConfig has no oidcToken: pushes are unauthenticated, so the function would have to allow unauthenticated calls");
      return;
    }
    if (stringAt(token, "serviceAccountEmail") === undefined) report("pushConfig.oidcToken has no serviceAccountEmail");
  }),
};

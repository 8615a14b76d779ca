// The sweeper and the reconciler only run when Cloud Scheduler calls them. A job that calls without
// an OIDC token, as an account that may not invoke the function, or without retries fails its
// calls (403, or one transient error) and the phases it should have swept stall with no error.
import type { StackValidationPolicy } from "@pulumi/policy";
import { at, isPresent, numberAt, stringAt } from "../lib/props.ts";
import { callerIdentity, holdsRunInvoker, showIdentity } from "../lib/run-invoker.ts";
import { describe, functionEndpointMatches, ofType, resolveReference } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const schedulerJobAuthenticated: StackValidationPolicy = {
  name: "scheduler-job-authenticated",
  description:
    "Every Cloud Scheduler job with an HTTP target sends an OIDC token (httpTarget.oidcToken.serviceAccountEmail) of an account that holds roles/run.invoker on the target function's Cloud Run service, and retries failed calls (retryConfig with retryCount of at least 1).",
  remediationSteps:
    "Give the job httpTarget.oidcToken { serviceAccountEmail: <a dedicated account>, audience: <function URL> }, declare a gcp.cloudrunv2.ServiceIamMember { name: <function's service>, location, role: \"roles/run.invoker\", member: \"serviceAccount:<that email>\" } and a retryConfig { retryCount, minBackoffDuration, maxBackoffDuration } (infra/components/scheduled-invocation.ts).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const functions = ofType(args.resources, T.function);
    const accounts = ofType(args.resources, T.account);
    for (const job of ofType(args.resources, T.schedulerJob)) {
      if (!isPresent(at(job.props, "httpTarget"))) continue;

      const retryConfig = at(job.props, "retryConfig");
      const retryCount = numberAt(retryConfig, "retryCount");
      if (!isPresent(retryConfig)) {
        report(`${describe(job)} has no retryConfig: one failed call (a cold start, a 503) skips that run entirely`, job.urn);
      } else if (retryCount === undefined || (typeof retryCount === "number" && retryCount < 1)) {
        // Cloud Scheduler's default retryCount is 0: a retryConfig without it does not retry.
        report(`${describe(job)} retries no failed call (retryConfig.retryCount is ${String(retryCount ?? "unset")}, Cloud Scheduler's default being 0)`, job.urn);
      }

      const email = stringAt(job.props, "httpTarget", "oidcToken", "serviceAccountEmail");
      if (email === undefined) {
        const oauth = isPresent(at(job.props, "httpTarget", "oauthToken")) ? " (an OAuth token is for *.googleapis.com targets; Cloud Run rejects it)" : "";
        report(`${describe(job)} sends no OIDC token${oauth}: the function's Cloud Run service rejects every unauthenticated call with 403`, job.urn);
        continue;
      }
      const who = callerIdentity(job, "httpTarget", email, accounts);
      const targets = resolveReference(job, "httpTarget", stringAt(job.props, "httpTarget", "uri"), functions, T.function, functionEndpointMatches);
      for (const fn of targets) {
        if (!holdsRunInvoker(who, fn, args.resources)) {
          report(`scheduler account ${showIdentity(who)} of ${describe(job)} holds no roles/run.invoker on the service of ${describe(fn)}: every scheduled call would be rejected with 403`, job.urn);
        }
      }
    }
  },
};

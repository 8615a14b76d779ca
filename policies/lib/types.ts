// Type tokens of the gcp provider (v9) the policies look at, from the project's one list
// (functions/core/resource-types.ts). Policies match on tokens rather than on the provider's
// classes, so the pack does not load @pulumi/gcp.
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";

export const T = RESOURCE_TYPES;

/** IAM resources that grant access to a function or its Cloud Run service. */
export const FUNCTION_IAM_TYPES: ReadonlySet<string> = new Set([
  T.runServiceIamMember,
  T.runServiceIamBinding,
  T.runServiceIamPolicy,
  T.runV1IamMember,
  T.runV1IamBinding,
  T.runV1IamPolicy,
  T.functionIamMember,
  T.functionIamBinding,
  T.functionIamPolicy,
  T.functionV1IamMember,
  T.functionV1IamBinding,
  T.functionV1IamPolicy,
]);

/**
 * Roles that let a caller invoke the Cloud Run service behind a 2nd gen function (a push with an
 * OIDC token is such a call; roles/cloudfunctions.invoker does not cover 2nd gen functions).
 */
export const RUN_INVOKER_ROLES: ReadonlySet<string> = new Set(["roles/run.invoker", "roles/run.servicesInvoker"]);

/** IAM resources on the Cloud Run service itself (where run.invoker is granted). */
export const RUN_SERVICE_IAM_TYPES: ReadonlySet<string> = new Set([
  T.runServiceIamMember,
  T.runServiceIamBinding,
  T.runServiceIamPolicy,
  T.runV1IamMember,
  T.runV1IamBinding,
  T.runV1IamPolicy,
]);

/** IAM resources on a Pub/Sub topic. */
export const TOPIC_IAM_TYPES: ReadonlySet<string> = new Set([T.topicIamMember, T.topicIamBinding, T.topicIamPolicy]);

/** IAM resources on a Pub/Sub subscription. */
export const SUBSCRIPTION_IAM_TYPES: ReadonlySet<string> = new Set([T.subscriptionIamMember, T.subscriptionIamBinding, T.subscriptionIamPolicy]);

/** Project-wide IAM grants (they apply to every resource of the project). */
export const PROJECT_IAM_TYPES: ReadonlySet<string> = new Set([T.projectIamMember, T.projectIamBinding]);

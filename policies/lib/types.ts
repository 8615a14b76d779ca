// Type tokens of the gcp provider (v9) the policies look at. Policies match on tokens rather than on
// the provider's classes, so the pack does not load @pulumi/gcp.
export const T = {
  subscription: "gcp:pubsub/subscription:Subscription",
  topic: "gcp:pubsub/topic:Topic",
  function: "gcp:cloudfunctionsv2/function:Function",
  functionV1: "gcp:cloudfunctions/function:Function",
  bucketObject: "gcp:storage/bucketObject:BucketObject",
  account: "gcp:serviceaccount/account:Account",
  alertPolicy: "gcp:monitoring/alertPolicy:AlertPolicy",
  uptimeCheck: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
  notificationChannel: "gcp:monitoring/notificationChannel:NotificationChannel",
  table: "gcp:bigquery/table:Table",
  // IAM on the Cloud Run service behind a 2nd gen function (run.invoker lives there).
  runServiceIamMember: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  runServiceIamBinding: "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
  runServiceIamPolicy: "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
  runV1IamMember: "gcp:cloudrun/iamMember:IamMember",
  runV1IamBinding: "gcp:cloudrun/iamBinding:IamBinding",
  runV1IamPolicy: "gcp:cloudrun/iamPolicy:IamPolicy",
  functionIamMember: "gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember",
  functionIamBinding: "gcp:cloudfunctionsv2/functionIamBinding:FunctionIamBinding",
  functionIamPolicy: "gcp:cloudfunctionsv2/functionIamPolicy:FunctionIamPolicy",
  functionV1IamMember: "gcp:cloudfunctions/functionIamMember:FunctionIamMember",
  functionV1IamBinding: "gcp:cloudfunctions/functionIamBinding:FunctionIamBinding",
  functionV1IamPolicy: "gcp:cloudfunctions/functionIamPolicy:FunctionIamPolicy",
  projectIamMember: "gcp:projects/iAMMember:IAMMember",
  projectIamBinding: "gcp:projects/iAMBinding:IAMBinding",
  topicIamMember: "gcp:pubsub/topicIAMMember:TopicIAMMember",
  topicIamBinding: "gcp:pubsub/topicIAMBinding:TopicIAMBinding",
  topicIamPolicy: "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
  subscriptionIamMember: "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
  subscriptionIamBinding: "gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding",
  subscriptionIamPolicy: "gcp:pubsub/subscriptionIAMPolicy:SubscriptionIAMPolicy",
  schedulerJob: "gcp:cloudscheduler/job:Job",
} as const;

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

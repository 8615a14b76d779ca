// The Pulumi type tokens of every resource this project declares or its policies look at, listed
// once. Plain strings, so everyone may import them: the policy pack (which does not load
// @pulumi/gcp), the plan tool's mocks, the local stack, adopt, drift and the tests. Each token is
// checked against the provider SDK's own (test/core/resource-types.test.ts). Pure.

export const RESOURCE_TYPES = {
  stack: "pulumi:pulumi:Stack",
  randomId: "random:index/randomId:RandomId",

  // Pub/Sub
  topic: "gcp:pubsub/topic:Topic",
  subscription: "gcp:pubsub/subscription:Subscription",
  topicIamMember: "gcp:pubsub/topicIAMMember:TopicIAMMember",
  topicIamBinding: "gcp:pubsub/topicIAMBinding:TopicIAMBinding",
  topicIamPolicy: "gcp:pubsub/topicIAMPolicy:TopicIAMPolicy",
  subscriptionIamMember: "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
  subscriptionIamBinding: "gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding",
  subscriptionIamPolicy: "gcp:pubsub/subscriptionIAMPolicy:SubscriptionIAMPolicy",

  // Functions and the Cloud Run service behind a 2nd gen function (run.invoker lives there)
  function: "gcp:cloudfunctionsv2/function:Function",
  functionV1: "gcp:cloudfunctions/function:Function",
  functionIamMember: "gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember",
  functionIamBinding: "gcp:cloudfunctionsv2/functionIamBinding:FunctionIamBinding",
  functionIamPolicy: "gcp:cloudfunctionsv2/functionIamPolicy:FunctionIamPolicy",
  functionV1IamMember: "gcp:cloudfunctions/functionIamMember:FunctionIamMember",
  functionV1IamBinding: "gcp:cloudfunctions/functionIamBinding:FunctionIamBinding",
  functionV1IamPolicy: "gcp:cloudfunctions/functionIamPolicy:FunctionIamPolicy",
  runService: "gcp:cloudrunv2/service:Service",
  runServiceIamMember: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
  runServiceIamBinding: "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
  runServiceIamPolicy: "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
  runV1IamMember: "gcp:cloudrun/iamMember:IamMember",
  runV1IamBinding: "gcp:cloudrun/iamBinding:IamBinding",
  runV1IamPolicy: "gcp:cloudrun/iamPolicy:IamPolicy",
  schedulerJob: "gcp:cloudscheduler/job:Job",

  // Sources and builds
  bucket: "gcp:storage/bucket:Bucket",
  bucketIamMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  bucketObject: "gcp:storage/bucketObject:BucketObject",
  artifactRepository: "gcp:artifactregistry/repository:Repository",
  artifactRepositoryIamMember: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",

  // Identity and project
  account: "gcp:serviceaccount/account:Account",
  accountIamMember: "gcp:serviceaccount/iAMMember:IAMMember",
  projectIamMember: "gcp:projects/iAMMember:IAMMember",
  projectIamBinding: "gcp:projects/iAMBinding:IAMBinding",
  projectIamPolicy: "gcp:projects/iAMPolicy:IAMPolicy",
  projectService: "gcp:projects/service:Service",
  serviceIdentity: "gcp:projects/serviceIdentity:ServiceIdentity",

  // Stores
  dataset: "gcp:bigquery/dataset:Dataset",
  datasetIamMember: "gcp:bigquery/datasetIamMember:DatasetIamMember",
  table: "gcp:bigquery/table:Table",
  firestoreDatabase: "gcp:firestore/database:Database",
  firestoreField: "gcp:firestore/field:Field",
  secret: "gcp:secretmanager/secret:Secret",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
  secretIamMember: "gcp:secretmanager/secretIamMember:SecretIamMember",

  // Monitoring and logging
  alertPolicy: "gcp:monitoring/alertPolicy:AlertPolicy",
  uptimeCheck: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
  notificationChannel: "gcp:monitoring/notificationChannel:NotificationChannel",
  dashboard: "gcp:monitoring/dashboard:Dashboard",
  logMetric: "gcp:logging/metric:Metric",
} as const;

export type ResourceTypeKey = keyof typeof RESOURCE_TYPES;
export type ResourceType = (typeof RESOURCE_TYPES)[ResourceTypeKey];

/** Tokens of the provider functions (invokes) the program calls. */
export const INVOKE_TOKENS = {
  getProject: "gcp:organizations/getProject:getProject",
} as const;

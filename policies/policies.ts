// Every policy of the pack, in one list: the pack (index.ts), the offline runner and the tests use
// it. Importing this module does not start the policy server (constructing a PolicyPack does).
import type { Policies } from "@pulumi/policy";
import { alertConditionResourceType } from "./rules/alert-condition-resource-type.ts";
import { alertConditionUserMetricPromql } from "./rules/alert-condition-user-metric-promql.ts";
import { alertPolicyNotificationChannel } from "./rules/alert-policy-notification-channel.ts";
import { bigqueryTableDeletionProtection } from "./rules/bigquery-table-deletion-protection.ts";
import { bigqueryTablePartitioned } from "./rules/bigquery-table-partitioned.ts";
import { deadLetterServiceAgentBindings } from "./rules/dead-letter-service-agent-bindings.ts";
import { deadLetterSubscriptionRetention } from "./rules/dead-letter-subscription-retention.ts";
import { deadLetterTopicSubscription } from "./rules/dead-letter-topic-subscription.ts";
import { function5xxAlert } from "./rules/function-5xx-alert.ts";
import { functionCodeHashLabel } from "./rules/function-code-hash-label.ts";
import { functionEnvHardcodedUrl } from "./rules/function-env-hardcoded-url.ts";
import { functionMinInstancesProd } from "./rules/function-min-instances-prod.ts";
import { functionPublicInvoker } from "./rules/function-public-invoker.ts";
import { functionRuntimeSupported } from "./rules/function-runtime-supported.ts";
import { functionServiceAccount } from "./rules/function-service-account.ts";
import { functionTimeoutNearLimit } from "./rules/function-timeout-near-limit.ts";
import { functionInstanceSizing } from "./rules/function-instance-sizing.ts";
import { functionUptimeCheck } from "./rules/function-uptime-check.ts";
import { noPlainSecrets } from "./rules/no-plain-secrets.ts";
import { pushSubscriptionAckDeadline } from "./rules/push-subscription-ack-deadline.ts";
import { pushSubscriptionDeadLetter } from "./rules/push-subscription-dead-letter.ts";
import { pushSubscriptionInvoker } from "./rules/push-subscription-invoker.ts";
import { pushSubscriptionOidcToken } from "./rules/push-subscription-oidc-token.ts";
import { pushSubscriptionRetryBackoff } from "./rules/push-subscription-retry-backoff.ts";
import { schedulerJobAuthenticated } from "./rules/scheduler-job-authenticated.ts";
import { serviceAgentMemberFromIdentity } from "./rules/service-agent-member-from-identity.ts";
import { liveStackNoShadowTopics } from "./rules/live-stack-no-shadow-topics.ts";
import { shadowNoLivePublisher } from "./rules/shadow-no-live-publisher.ts";

export const PACK_NAME = "phase-orchestration-policies";

export const POLICIES: Policies = [
  // Mandatory
  pushSubscriptionDeadLetter,
  pushSubscriptionRetryBackoff,
  pushSubscriptionOidcToken,
  pushSubscriptionAckDeadline,
  pushSubscriptionInvoker,
  deadLetterTopicSubscription,
  deadLetterServiceAgentBindings,
  functionCodeHashLabel,
  functionRuntimeSupported,
  functionServiceAccount,
  functionPublicInvoker,
  functionInstanceSizing,
  function5xxAlert,
  functionUptimeCheck,
  alertPolicyNotificationChannel,
  alertConditionResourceType,
  alertConditionUserMetricPromql,
  noPlainSecrets,
  bigqueryTablePartitioned,
  bigqueryTableDeletionProtection,
  schedulerJobAuthenticated,
  serviceAgentMemberFromIdentity,
  liveStackNoShadowTopics,
  shadowNoLivePublisher,
  // Advisory
  functionEnvHardcodedUrl,
  functionMinInstancesProd,
  functionTimeoutNearLimit,
  deadLetterSubscriptionRetention,
];

// Google Cloud's limits on the names and values this program declares, each defined once. The
// pipeline model (pipeline.ts), the stack config (infra/stack-config.ts), naming (infra/naming.ts),
// the components and the policy pack all ask these, so a value one of them accepts is never refused
// by another (test/core/platform-limits.test.ts). Pure. Each limit names the page it comes from.

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export const inRange = (value: number, range: IntRange): boolean =>
  Number.isInteger(value) && value >= range.min && value <= range.max;

const rangeText = (range: IntRange): string => `${range.min}..${range.max}`;

// ---------------------------------------------------------------------------------------------
// Names

/**
 * A Cloud Functions (2nd gen) function is a Cloud Run service: its id begins with a letter, holds
 * lowercase letters, digits and '-', does not end with '-' and has fewer than 50 characters.
 * https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.services/create (serviceId)
 */
export const FUNCTION_NAME_MAX = 49;
const FUNCTION_NAME_RE = /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/;

export function functionNameProblem(name: string): string | null {
  if (name.length > FUNCTION_NAME_MAX || !FUNCTION_NAME_RE.test(name)) {
    return `"${name}" is not a valid function name (lowercase letters, digits and '-', starting with a letter, not ending with '-', at most ${FUNCTION_NAME_MAX} characters)`;
  }
  return null;
}

/**
 * Pub/Sub topic and subscription ids: start with a letter, 3..255 letters, digits and - _ . ~ + %,
 * never starting with "goog". https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names
 */
export const PUBSUB_NAME_LENGTH: IntRange = { min: 3, max: 255 };
const PUBSUB_NAME_RE = /^[A-Za-z][-A-Za-z0-9_.~+%]*$/;

export function pubsubNameProblem(name: string): string | null {
  if (name.startsWith("goog")) return `"${name}" must not start with "goog"`;
  if (!inRange(name.length, PUBSUB_NAME_LENGTH) || !PUBSUB_NAME_RE.test(name)) {
    return `"${name}" is not a valid Pub/Sub name (start with a letter; ${rangeText(PUBSUB_NAME_LENGTH)} of letters, digits, - _ . ~ + %)`;
  }
  return null;
}

/**
 * Resource labels: keys of 1..63 and values of 0..63 lowercase letters, digits, '_' and '-'; a key
 * starts with a letter. (Google also allows international letters; we never use them.)
 * https://cloud.google.com/resource-manager/docs/labels-overview#requirements
 */
export const LABEL_KEY_MAX = 63;
export const LABEL_VALUE_MAX = 63;
const LABEL_KEY_RE = /^[a-z][-_a-z0-9]*$/;
const LABEL_VALUE_RE = /^[-_a-z0-9]*$/;

export function labelKeyProblem(key: string): string | null {
  return key.length <= LABEL_KEY_MAX && LABEL_KEY_RE.test(key)
    ? null
    : `invalid label key ${JSON.stringify(key)} (a lowercase letter, then lowercase letters, digits, '_' and '-'; at most ${LABEL_KEY_MAX})`;
}

export function labelValueProblem(value: string): string | null {
  return value.length <= LABEL_VALUE_MAX && LABEL_VALUE_RE.test(value)
    ? null
    : `invalid label value ${JSON.stringify(value)} (lowercase letters, digits, '_' and '-'; at most ${LABEL_VALUE_MAX})`;
}

/**
 * Service account ids: 6..30 lowercase letters, digits and '-', starting with a letter, not ending
 * with '-'. https://cloud.google.com/iam/docs/service-accounts-create#creating
 */
export const SERVICE_ACCOUNT_ID_RE = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * Project ids: 6..30 lowercase letters, digits and '-', starting with a letter, not ending with '-'.
 * https://cloud.google.com/resource-manager/docs/creating-managing-projects#before_you_begin
 */
export const PROJECT_ID_RE = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * Bucket names (without dots, as ours are): 3..63 lowercase letters, digits, '-' and '_', starting
 * and ending with a letter or digit, not starting with "goog", not containing "google".
 * https://cloud.google.com/storage/docs/buckets#naming
 */
export const BUCKET_NAME_LENGTH: IntRange = { min: 3, max: 63 };
const BUCKET_NAME_RE = /^[a-z0-9](?:[-_a-z0-9]*[a-z0-9])?$/;

export function bucketNameProblem(name: string): string | null {
  if (!inRange(name.length, BUCKET_NAME_LENGTH) || !BUCKET_NAME_RE.test(name) || name.startsWith("goog") || name.includes("google")) {
    return `bucket name ${JSON.stringify(name)} is invalid (${rangeText(BUCKET_NAME_LENGTH)} lowercase letters, digits, '-' and '_'; not "goog..." nor containing "google")`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Push subscriptions and functions

/**
 * A subscription's ack deadline: 10..600 s, 10 s when unset; for a push subscription it is also the
 * request timeout of each push. https://cloud.google.com/pubsub/docs/subscription-properties#ack_deadline
 */
export const ACK_DEADLINE_SECONDS: IntRange = { min: 10, max: 600 };
export const DEFAULT_ACK_DEADLINE_SECONDS = 10;

/**
 * Retry policy: each backoff bound 0..600 s; unset, the minimum is 10 s and the maximum 600 s.
 * https://cloud.google.com/pubsub/docs/subscription-retry-policy
 * Google accepts equal bounds, but then the delay never grows: this project requires the minimum
 * below the maximum (config validation and the mandatory policy push-subscription-retry-backoff).
 */
export const RETRY_BACKOFF_SECONDS: IntRange = { min: 0, max: 600 };
export const DEFAULT_MINIMUM_BACKOFF_SECONDS = 10;
export const DEFAULT_MAXIMUM_BACKOFF_SECONDS = 600;

/** What is wrong with a push retry policy, if anything (empty: it is valid). */
export function retryBackoffProblems(minimumSeconds: number, maximumSeconds: number): string[] {
  const problems: string[] = [];
  for (const [which, value] of [["minimum", minimumSeconds], ["maximum", maximumSeconds]] as const) {
    if (!(value >= RETRY_BACKOFF_SECONDS.min && value <= RETRY_BACKOFF_SECONDS.max)) {
      problems.push(`${which} backoff is ${value}s; Pub/Sub allows ${RETRY_BACKOFF_SECONDS.min}s to at most ${RETRY_BACKOFF_SECONDS.max}s`);
    }
  }
  if (!(minimumSeconds < maximumSeconds)) {
    problems.push(`backoff from ${minimumSeconds}s to ${maximumSeconds}s: the minimum must be below the maximum for the backoff to grow`);
  }
  return problems;
}

/**
 * Dead-letter policy: a message is dead-lettered after 5..100 delivery attempts.
 * https://cloud.google.com/pubsub/docs/handling-failures#dead_letter_topic
 */
export const MAX_DELIVERY_ATTEMPTS: IntRange = { min: 5, max: 100 };

/**
 * Message retention of a topic or subscription: 10 minutes to 31 days. Dead letters are kept in
 * whole days, so 1..31. https://cloud.google.com/pubsub/docs/subscription-properties#retention
 */
export const MESSAGE_RETENTION_SECONDS: IntRange = { min: 600, max: 31 * 86_400 };
export const DEAD_LETTER_RETENTION_DAYS: IntRange = { min: 1, max: 31 };

/**
 * Function timeout. A 2nd gen HTTP function may run up to 3600 s (60 s when unset), but a pushed one
 * must answer within its subscription's ack deadline, so ours are bounded by the ack deadline range:
 * at least its minimum (the deadline then equals the timeout), at most 600 s.
 * https://cloud.google.com/functions/docs/configuring/timeout
 */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 60;
export const PUSHED_FUNCTION_TIMEOUT_SECONDS: IntRange = ACK_DEADLINE_SECONDS;

// What a secret looks like in plain configuration: webhook URLs, credentials in URLs, well-known
// token formats, and non-trivial values under keys that name a secret. Pure.

const VALUE_PATTERNS: readonly { what: string; re: RegExp }[] = [
  { what: "a Slack webhook URL", re: /https?:\/\/hooks\.slack\.com\/(services|workflows|triggers)\//i },
  { what: "a webhook URL", re: /https?:\/\/[^\s"']*(webhook|\/hooks\/)[^\s"']*/i },
  { what: "a URL with credentials", re: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"']+:[^/\s@"']+@/i },
  { what: "a URL carrying a token", re: /https?:\/\/[^\s"']*[?&](token|key|api[_-]?key|access_token|sig|signature|secret|password|auth)=[^&\s"']+/i },
  { what: "a Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/i },
  { what: "a GitHub token", re: /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { what: "a Google API key", re: /\bAIza[0-9A-Za-z_-]{35}/ },
  { what: "an AWS access key", re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: "a JSON web token", re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { what: "a private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: "a bearer token", re: /\bbearer\s+[A-Za-z0-9._~+/-]{16,}/i },
  // `npm run plan` has no secret values offline and puts this placeholder in their place
  // (tools/plan/stack-files.ts): seen in a plain setting, a Pulumi secret was written there.
  { what: "a Pulumi secret (the offline plan's placeholder)", re: /^\[secret\]$/ },
];

/** Keys that say their value is a secret. */
const SECRET_KEY = /(secret|token|passw(or)?d|passwd|api[_-]?key|private[_-]?key|webhook|credential|client[_-]?secret|auth[_-]?key)/i;

/** Values under a secret-sounding key that are settings, not secrets: numbers, flags, durations, Secret Manager references. */
function isHarmlessSetting(value: string): boolean {
  const v = value.trim();
  return (
    v === "" ||
    /^-?\d+(\.\d+)?$/.test(v) ||
    /^(true|false|yes|no|on|off|none|null)$/i.test(v) ||
    /^\d+(\.\d+)?(ms|s|m|h)$/.test(v) ||
    /^projects\/[^/]+\/secrets\/[^/]+(\/versions\/[^/]+)?$/.test(v) ||
    /^sm:\/\//.test(v)
  );
}

/** Why `value` (under `key`) looks like a secret, or undefined if it does not. */
export function secretLooking(key: string, value: string): string | undefined {
  for (const { what, re } of VALUE_PATTERNS) if (re.test(value)) return `holds ${what}`;
  if (SECRET_KEY.test(key) && !isHarmlessSetting(value)) return `is named like a secret and holds a value`;
  return undefined;
}

/** The http(s) URLs in a value. */
export function urlsIn(value: string): string[] {
  return [...value.matchAll(/https?:\/\/[^\s"'<>\\]+/gi)].map((m) => m[0]);
}

// npm run alert:test -- --stack <name> | --webhook-url <url>
//
// Sends ONE clearly marked test alert through the same code path as every real alert
// (functions/lib/slack.ts createSlackAlerter: formatting, retries, Retry-After) and says whether it
// was delivered: exit 0 delivered, 1 not delivered, 2 usage or configuration problem.
//
// The stack's webhook is a Pulumi secret (slackWebhookUrl), kept in Secret Manager in the cloud; it
// cannot be read offline, so with --stack the value comes from SLACK_WEBHOOK_URL and this tool says
// how to get it (pulumi config get / gcloud secrets versions access) when it is missing.
import { fileURLToPath } from "node:url";
import * as path from "node:path";
import type { LogDestination } from "../functions/lib/logger.ts";
import { Naming } from "../infra/naming.ts";
import { readStackFiles, UnknownStackError } from "./plan/stack-files.ts";
import { defineCommand } from "./cli/command.ts";
import { CliError, describeCliError, UsageError } from "./cli/errors.ts";

export const EXIT = { delivered: 0, notDelivered: 1, usage: 2 } as const;

export const ALERT_TEST_COMMAND = defineCommand({
  tool: "alert:test",
  synopsis: "npm run alert:test -- (--stack <name> | --webhook-url <url>) [--json]",
  summary: `Sends one clearly marked TEST alert through the alert code path the functions use
(functions/lib/slack.ts) and reports whether Slack accepted it.`,
  options: {
    stack: {
      type: "string",
      value: "<name>",
      description: `the stack whose alert route to test (reads Pulumi.<name>.yaml for the
project, environment and channels). The webhook is the stack's secret
slackWebhookUrl, which cannot be read offline: pass it as
SLACK_WEBHOOK_URL in the environment, e.g.
  SLACK_WEBHOOK_URL="$(pulumi config get slackWebhookUrl --stack <name>)"
  SLACK_WEBHOOK_URL="$(gcloud secrets versions access latest --secret <id> --project <project>)"`,
    },
    "webhook-url": {
      type: "string",
      value: "<url>",
      description: "send to this webhook directly (a local check, or a URL you already hold);\nwith --stack it overrides SLACK_WEBHOOK_URL",
    },
    json: { type: "boolean", description: "print the result as one JSON object" },
  },
  notes: "Exit status: 0 delivered, 1 not delivered, 2 usage or configuration problem.",
});

export const USAGE = ALERT_TEST_COMMAND.help;

export interface AlertTestArgs {
  stack?: string;
  webhookUrl?: string;
  json: boolean;
  help: boolean;
}

export { UsageError };

export function parseAlertTestArgs(argv: readonly string[]): AlertTestArgs {
  const values = ALERT_TEST_COMMAND.parse(argv);
  const args: AlertTestArgs = {
    json: values.json,
    help: values.help,
    ...(values.stack !== undefined ? { stack: values.stack } : {}),
    ...(values["webhook-url"] !== undefined ? { webhookUrl: values["webhook-url"] } : {}),
  };
  if (args.stack === "") throw new UsageError("--stack needs a value");
  if (!args.help && args.stack === undefined && args.webhookUrl === undefined) {
    throw new UsageError("say where to send: --stack <name> or --webhook-url <url>");
  }
  if (args.webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(args.webhookUrl)) {
    throw new UsageError(`--webhook-url must be an http(s) URL, got ${JSON.stringify(args.webhookUrl)}`);
  }
  return args;
}

export interface AlertTestResult {
  delivered: boolean;
  stack: string | null;
  target: string;
  error?: string;
}

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Where a stack's alerts go, as far as the stack files tell (the webhook itself is a secret). */
function stackRoute(rootDir: string, stack: string) {
  const files = readStackFiles(rootDir, stack);
  const get = (key: string): string | undefined => files.config[key.includes(":") ? key : `${files.project}:${key}`];
  const project = get("gcp:project");
  const environment = get("environment") ?? stack;
  const secretId = project ? new Naming({ project, environment }).secretId("slack-webhook-url") : "<secret id>";
  return { project: project ?? "<gcp:project of the stack>", environment, secretId, errorsChannel: get("slackErrorsChannel") };
}

/** Never shows a whole webhook URL (its path is the credential). */
export function redactWebhook(url: string): string {
  const parsed = URL.parse(url);
  return parsed === null ? "<unparseable URL>" : `${parsed.protocol}//${parsed.host}/…`;
}

export async function runAlertTest(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: Io,
  rootDir: string = ROOT,
): Promise<number> {
  let args: AlertTestArgs;
  try {
    args = parseAlertTestArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(describeCliError(ALERT_TEST_COMMAND.tool, error, ALERT_TEST_COMMAND.synopsis));
    return EXIT.usage;
  }
  if (args.help) {
    io.out(USAGE);
    return EXIT.delivered;
  }

  let route: ReturnType<typeof stackRoute> | null = null;
  if (args.stack !== undefined) {
    try {
      route = stackRoute(rootDir, args.stack);
    } catch (error) {
      if (!(error instanceof UnknownStackError)) throw error;
      io.err(describeCliError(ALERT_TEST_COMMAND.tool, new CliError(error.message, EXIT.usage)));
      return EXIT.usage;
    }
  }
  const webhookUrl = args.webhookUrl ?? (args.stack !== undefined ? env.SLACK_WEBHOOK_URL : undefined);
  if (webhookUrl === undefined || webhookUrl === "") {
    io.err(
      [
        `alert:test: no webhook for stack ${args.stack}.`,
        `The stack's Slack webhook is the Pulumi secret slackWebhookUrl, stored in Secret Manager as ${route!.secretId} in project ${route!.project};`,
        "it cannot be read offline. Pass it in SLACK_WEBHOOK_URL, for example:",
        `  SLACK_WEBHOOK_URL="$(pulumi config get slackWebhookUrl --stack ${args.stack})" npm run alert:test -- --stack ${args.stack}`,
        `  SLACK_WEBHOOK_URL="$(gcloud secrets versions access latest --secret ${route!.secretId} --project ${route!.project})" npm run alert:test -- --stack ${args.stack}`,
        "or give the URL with --webhook-url.",
        "",
      ].join("\n"),
    );
    return EXIT.usage;
  }
  if (!/^https?:\/\/[^\s]+$/.test(webhookUrl)) {
    io.err(`alert:test: SLACK_WEBHOOK_URL is not an http(s) URL\n`);
    return EXIT.usage;
  }

  // The alert path (pino, retries) loads only for a run that sends.
  const [{ createSlackAlerter }, { createLogger }] = await Promise.all([import("../functions/lib/slack.ts"), import("../functions/lib/logger.ts")]);
  // The alerter's own log lines (retries, the ERROR when undelivered) go to stderr, as JSON.
  const stderr: LogDestination = { write: (line: string) => io.err(line) };
  const alerter = createSlackAlerter({
    webhookUrl,
    functionName: "alert-test",
    codeHash: "n/a (routing test)",
    logger: createLogger({ function: "alert-test" }, stderr, "warning"),
  });
  const sentAt = new Date().toISOString();
  const result = await alerter.alert({
    severity: "info",
    subject: { kind: "alert_routing_test", item: sentAt },
    title: `[TEST] Alert routing test${args.stack ? ` for stack ${args.stack}` : ""}: no action needed`,
    ...(route ? { phase: `environment ${route.environment}` } : {}),
    errorType: "alert_routing_test",
    details: {
      test: true,
      stack: args.stack ?? null,
      project: route?.project ?? null,
      expected_channel: route?.errorsChannel ?? null,
      sent_at: sentAt,
      sent_by: "npm run alert:test",
    },
  });

  const outcome: AlertTestResult = {
    delivered: result.delivered,
    stack: args.stack ?? null,
    target: redactWebhook(webhookUrl),
    ...(result.error === undefined ? {} : { error: result.error }),
  };
  if (args.json) io.out(`${JSON.stringify(outcome)}\n`);
  else if (outcome.delivered) io.out(`delivered: test alert accepted by ${outcome.target}${route?.errorsChannel ? ` (expected in ${route.errorsChannel})` : ""}\n`);
  else io.out(`NOT delivered to ${outcome.target}: ${outcome.error ?? "unknown reason"}\n`);
  return outcome.delivered ? EXIT.delivered : EXIT.notDelivered;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runAlertTest(process.argv.slice(2), process.env, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  });
}

// `npm run alert:test`: the CLI run as a real process against a local webhook stand-in, and its
// argument and stack handling in-process. The alert goes through createSlackAlerter, so what Slack
// receives is exactly what a real alert looks like, marked as a test.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EXIT, parseAlertTestArgs, redactWebhook, runAlertTest, UsageError } from "../../tools/alert-test.ts";
import { startSlackSink, type SlackSink } from "../runtime/support.ts";
import { findFreePort } from "../../tools/emulators/emulators.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string> = {}) {
  const result = await run(process.execPath, ["--import", "tsx", "tools/alert-test.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
  );
  return result;
}

function memoryIo() {
  const io = { stdout: "", stderr: "", out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

describe("alert:test (alert routing test)", function () {
  this.timeout(60_000);
  let slack: SlackSink;

  before(async () => {
    slack = await startSlackSink();
  });
  beforeEach(() => {
    slack.received.length = 0;
    slack.respondWith(200);
  });
  after(async () => {
    await slack.close();
  });

  it("--webhook-url: sends one marked test alert, formatted like every alert, and exits 0", async () => {
    const r = await cli(["--webhook-url", slack.url]);
    assert.equal(r.code, EXIT.delivered, r.stderr);
    assert.match(r.stdout, /^delivered: test alert accepted by http:\/\/127\.0\.0\.1:\d+\/…/);
    assert.equal(slack.received.length, 1);
    const text = String(slack.received[0]!.text);
    assert.match(text, /^:information_source: \*\[INFO\] \[TEST\] Alert routing test: no action needed\*/);
    assert.match(text, /\*Function:\* alert-test/);
    assert.match(text, /"test":true/);
  });

  it("exits 1 and says why when the webhook refuses (503 on every attempt) or is unreachable", async () => {
    slack.respondWith(503);
    const refused = await cli(["--webhook-url", slack.url, "--json"]);
    assert.equal(refused.code, EXIT.notDelivered);
    const body = JSON.parse(refused.stdout) as { delivered: boolean; error: string; target: string };
    assert.equal(body.delivered, false);
    assert.match(body.error, /503/);
    assert.ok(!body.target.includes("/hooks/test"), "the webhook path (the credential) is never printed");
    assert.match(refused.stderr, /alert not delivered/);

    const closedPort = await findFreePort();
    const unreachable = await cli(["--webhook-url", `http://127.0.0.1:${closedPort}/hooks/x`]);
    assert.equal(unreachable.code, EXIT.notDelivered);
    assert.match(unreachable.stdout, /^NOT delivered/);
  });

  it("--stack without the secret: exit 2, naming SLACK_WEBHOOK_URL, pulumi config get and the Secret Manager secret", async () => {
    const r = await cli(["--stack", "dev"]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.stderr, /SLACK_WEBHOOK_URL/);
    assert.match(r.stderr, /pulumi config get slackWebhookUrl --stack dev/);
    assert.match(r.stderr, /gcloud secrets versions access latest --secret \S+ --project \S+/);
    assert.equal(slack.received.length, 0);
  });

  it("--stack with SLACK_WEBHOOK_URL: delivered, naming the stack and its expected channel", async () => {
    const io = memoryIo();
    const code = await runAlertTest(["--stack", "dev"], { SLACK_WEBHOOK_URL: slack.url }, io);
    assert.equal(code, EXIT.delivered, io.stderr);
    const text = String(slack.received[0]!.text);
    assert.match(text, /\[TEST\] Alert routing test for stack dev/);
    assert.match(text, /"stack":"dev"/);
    assert.match(io.stdout, /expected in #/);
  });

  it("usage problems exit 2 with the usage text; --help exits 0", async () => {
    for (const argv of [[], ["--stack"], ["--stack", "nosuchstack"], ["--webhook-url", "ftp://x"], ["--bogus"]]) {
      const io = memoryIo();
      assert.equal(await runAlertTest(argv, {}, io), EXIT.usage, `${argv.join(" ")}: ${io.stderr}`);
      assert.ok(io.stderr.startsWith("alert:test: "), io.stderr);
    }
    const help = memoryIo();
    assert.equal(await runAlertTest(["--help"], {}, help), EXIT.delivered);
    assert.match(help.stdout, /^usage: npm run alert:test/);
    assert.equal(slack.received.length, 0);
  });

  it("parses --flag=value and rejects a flag with a missing value", () => {
    assert.deepEqual(parseAlertTestArgs(["--stack=prod", "--json"]), { stack: "prod", json: true, help: false });
    assert.throws(() => parseAlertTestArgs(["--stack", "--json"]), UsageError);
    assert.equal(redactWebhook("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com/…");
  });
});

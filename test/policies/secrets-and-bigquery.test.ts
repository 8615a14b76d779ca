// No plain secrets; BigQuery tables partitioned and protected in prod.
import assert from "node:assert/strict";
import { secretLooking } from "../../policies/lib/secret-values.ts";
import { bigqueryTableDeletionProtection } from "../../policies/rules/bigquery-table-deletion-protection.ts";
import { bigqueryTablePartitioned } from "../../policies/rules/bigquery-table-partitioned.ts";
import { noPlainSecrets } from "../../policies/rules/no-plain-secrets.ts";
import { check, edit, environmentOf, find, MODES, obj, planned, STACKS, T } from "./fixtures.ts";

describe("policies: secrets and BigQuery", function () {
  this.timeout(180_000);
  before(async () => {
    for (const s of STACKS) for (const m of MODES) await planned(s, m);
  });

  for (const policy of [noPlainSecrets, bigqueryTablePartitioned, bigqueryTableDeletionProtection]) {
    for (const stack of STACKS) {
      for (const mode of MODES) {
        it(`${policy.name}: the ${stack} stack passes (${mode})`, async () => {
          assert.deepEqual(await check(policy, await planned(stack, mode), await environmentOf(stack)), []);
        });
      }
    }
  }

  describe("no-plain-secrets", () => {
    const secrets: [string, string, string][] = [
      ["ALERT_HOOK", "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX", "Slack webhook"],
      ["NOTIFY", "https://discord.com/api/webhooks/123/abc", "webhook URL"],
      ["COORDINATOR", "https://user:s3cret@coordinator.example.com/start", "credentials"],
      ["EXPORT_URL", "https://export.example.com/run?token=abcdef123456", "carrying a token"],
      ["BOT", "xoxb-1234567890-abcdefghijklmnop", "Slack token"],
      ["SLACK_TOKEN", "not-obviously-a-token", "named like a secret"],
      ["GH", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "GitHub token"],
      ["KEY", "-----BEGIN PRIVATE KEY-----\nabc", "private key"],
      ["ALERT_TARGET", "[secret]", "a Pulumi secret (offline placeholder)"],
    ];
    for (const [key, value, what] of secrets) {
      it(`reports ${what} in a function's environment`, async () => {
        const resources = await planned("prod");
        const fn = find(resources, T.function, "phase2-to-phase3");
        edit(fn, (p) => (obj(p, "serviceConfig", "environmentVariables")[key] = value));
        const found = await check(noPlainSecrets, resources);
        assert.deepEqual(found.map((v) => v.resource), [fn.urn]);
        assert.match(found[0]!.message, new RegExp(`serviceConfig.environmentVariables.${key}`));
      });
    }
    it("reports a token in a notification channel's plain labels", async () => {
      const resources = await planned("prod");
      const channel = find(resources, T.notificationChannel, "slack-errors");
      edit(channel, (p) => (obj(p, "labels").auth_token = "xoxb-1234567890-abcdefghijklmnop"));
      assert.deepEqual((await check(noPlainSecrets, resources)).map((v) => v.resource), [channel.urn]);
    });
    it("reports a secret in build-time environment variables", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.function, "phase2-to-phase3"), (p) => (obj(p, "buildConfig", "environmentVariables").NPM_TOKEN = "npm_abcdefghijklmnopqrstuvwxyz"));
      assert.equal((await check(noPlainSecrets, resources)).length, 1);
    });
    it("leaves settings under secret-sounding keys alone", () => {
      assert.equal(secretLooking("TOKEN_TTL_SECONDS", "3600"), undefined);
      assert.equal(secretLooking("SLACK_SECRET_REF", "projects/p/secrets/slack/versions/2"), undefined);
      assert.equal(secretLooking("CODE_HASH", "ab".repeat(32)), undefined);
      assert.equal(secretLooking("code-hash", "ab".repeat(31) + "a"), undefined);
    });
  });

  describe("bigquery-table-partitioned", () => {
    for (const mode of MODES) {
      it(`reports an unpartitioned table (${mode})`, async () => {
        const resources = await planned("dev", mode);
        const table = find(resources, T.table, "phase_completions");
        edit(table, (p) => delete p.timePartitioning);
        const found = await check(bigqueryTablePartitioned, resources);
        assert.deepEqual(found.map((v) => v.resource), [table.urn]);
      });
    }
    it("reports time partitioning without a type", async () => {
      const resources = await planned("dev");
      edit(find(resources, T.table, "phase_execution_log"), (p) => delete obj(p, "timePartitioning").type);
      assert.match((await check(bigqueryTablePartitioned, resources))[0]?.message ?? "", /no type/);
    });
    it("accepts range partitioning", async () => {
      const resources = await planned("dev");
      edit(find(resources, T.table, "phase_completions"), (p) => {
        delete p.timePartitioning;
        p.rangePartitioning = { field: "phase", range: { start: 0, end: 10, interval: 1 } };
      });
      assert.deepEqual(await check(bigqueryTablePartitioned, resources), []);
    });
  });

  describe("bigquery-table-deletion-protection", () => {
    it("reports a production table with deletion protection off", async () => {
      const resources = await planned("prod");
      const table = find(resources, T.table, "phase_completion_status");
      edit(table, (p) => (p.deletionProtection = false));
      const found = await check(bigqueryTableDeletionProtection, resources, "prod");
      assert.deepEqual(found.map((v) => v.resource), [table.urn]);
    });
    it("knows production from the table's environment label when no config says so", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.table, "phase_completion_status"), (p) => (p.deletionProtection = false));
      assert.equal((await check(bigqueryTableDeletionProtection, resources)).length, 1);
    });
    it("knows production from the config when the label is gone", async () => {
      const resources = await planned("prod");
      edit(find(resources, T.table, "phase_completion_status"), (p) => {
        p.deletionProtection = false;
        delete obj(p, "labels").environment;
      });
      assert.equal((await check(bigqueryTableDeletionProtection, resources, "prod")).length, 1);
      assert.equal((await check(bigqueryTableDeletionProtection, resources)).length, 0);
    });
    it("allows deletion protection off outside production (dev sets it off)", async () => {
      const resources = await planned("dev");
      assert.ok(resources.filter((r) => r.type === T.table).every((t) => t.inputs.deletionProtection === false));
      assert.deepEqual(await check(bigqueryTableDeletionProtection, resources, "dev"), []);
    });
  });
});

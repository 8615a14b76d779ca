// The environment rules that depend on DEPLOY_ENV (functions/core/runtime-env.ts): in staging and prod
// a missing Slack webhook and any local-only endpoint or knob are errors; elsewhere they are allowed,
// and a missing webhook is a warning the function logs once.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkEnvironmentRules,
  isStrictEnvironment,
  LOCAL_ONLY_ENV_KEYS,
  parseRuntimeEnv,
  RuntimeEnvError,
  STRICT_ENVIRONMENTS,
} from "../../functions/core/runtime-env.ts";

const base = (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({
  FUNCTION_NAME: "phase2-to-phase3-orchestrator",
  TRANSITION_ID: "phase2-to-phase3",
  CODE_HASH: "a".repeat(64),
  GCP_PROJECT_ID: "p",
  BQ_DATASET: "nba_orchestration",
  FIRESTORE_COLLECTION_PREFIX: "",
  DEPLOY_ENV: "prod",
  PIPELINE_CONFIG: "{}",
  SLACK_WEBHOOK_URL: "https://hooks.slack.example/x",
  FUNCTION_TIMEOUT_SECONDS: "300",
  ...overrides,
});

const problemsOf = (env: Record<string, string | undefined>): string[] => {
  try {
    parseRuntimeEnv(env, "orchestrator");
    return [];
  } catch (error) {
    assert.ok(error instanceof RuntimeEnvError, String(error));
    return error.problems;
  }
};

describe("runtime environment rules by DEPLOY_ENV", () => {
  it("strict environments are exactly staging and prod", () => {
    assert.deepEqual([...STRICT_ENVIRONMENTS].sort(), ["prod", "staging"]);
    for (const env of ["dev", "test", "local", "", undefined]) assert.equal(isStrictEnvironment(env), false, String(env));
  });

  it("the list of local-only variables names the emulator hosts the Google clients read and the BigQuery endpoints", () => {
    for (const key of ["FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST", "BIGQUERY_API_ENDPOINT"]) {
      assert.ok(LOCAL_ONLY_ENV_KEYS.includes(key), key);
    }
  });

  it("a complete prod environment parses, with no warning", () => {
    const rt = parseRuntimeEnv(base(), "orchestrator");
    assert.equal(rt.slackWebhookUrl, "https://hooks.slack.example/x");
    assert.deepEqual(rt.warnings, []);
  });

  for (const environment of ["staging", "prod"]) {
    for (const webhook of [undefined, "", "   "]) {
      it(`${environment}: SLACK_WEBHOOK_URL ${JSON.stringify(webhook)} is a configuration error naming it`, () => {
        const problems = problemsOf(base({ DEPLOY_ENV: environment, SLACK_WEBHOOK_URL: webhook }));
        assert.equal(problems.length, 1, problems.join("; "));
        assert.match(problems[0]!, new RegExp(`^SLACK_WEBHOOK_URL: required when DEPLOY_ENV is ${environment}`));
      });
    }
  }

  it("dev without a webhook starts, with one warning saying alerts are only logged", () => {
    for (const webhook of [undefined, "", "  "]) {
      const rt = parseRuntimeEnv(base({ DEPLOY_ENV: "dev", SLACK_WEBHOOK_URL: webhook }), "scheduled");
      assert.equal(rt.slackWebhookUrl, undefined);
      assert.equal(rt.warnings.length, 1);
      assert.match(rt.warnings[0]!, /SLACK_WEBHOOK_URL is not set: alerts are logged only/);
    }
  });

  it("property: in staging/prod every local-only variable set is named, and nothing else; elsewhere none is a problem", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("staging", "prod", "dev", "test"),
        fc.subarray([...LOCAL_ONLY_ENV_KEYS]),
        fc.dictionary(fc.constantFrom(...LOCAL_ONLY_ENV_KEYS), fc.constantFrom("", "127.0.0.1:8080", "1")),
        (environment, setKeys, noise) => {
          // Keys in setKeys get a value; the others may be present but empty (empty counts as unset).
          const env: Record<string, string> = {};
          for (const key of Object.keys(noise)) if (!setKeys.includes(key)) env[key] = "";
          for (const [i, key] of setKeys.entries()) env[key] = value(noise[key], i);
          const { problems } = checkEnvironmentRules({ ...base({ DEPLOY_ENV: environment }), ...env });
          const named = problems.map((p) => p.slice(0, p.indexOf(":")));
          if (isStrictEnvironment(environment)) {
            assert.deepEqual(named.sort(), [...setKeys].sort());
            for (const p of problems) assert.match(p, new RegExp(`must not be set when DEPLOY_ENV is ${environment}$`));
          } else {
            assert.deepEqual(problems, []);
          }
        },
      ),
    );
  });

  it("schema problems and environment problems are reported together", () => {
    const problems = problemsOf(base({ CODE_HASH: "nope", SLACK_WEBHOOK_URL: undefined, FIRESTORE_EMULATOR_HOST: "127.0.0.1:1" }));
    assert.deepEqual(
      problems.map((p) => p.slice(0, p.indexOf(":"))),
      ["CODE_HASH", "SLACK_WEBHOOK_URL", "FIRESTORE_EMULATOR_HOST"],
    );
  });
});

/** A non-empty value for a key that is set (the generated one, or a stand-in when it came out empty). */
function value(generated: string | undefined, i: number): string {
  return generated !== undefined && generated !== "" ? generated : `x${i}`;
}

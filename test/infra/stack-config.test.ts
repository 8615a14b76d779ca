import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ALL_CONFIG_KEYS, parseStackConfig, PROJECT_NAMESPACE, SECRET_KEYS, StackConfigError, STRUCTURED_KEYS } from "../../infra/stack-config.ts";
import { readStackFiles, SECRET_PLACEHOLDER, UnknownStackError } from "../../tools/plan/stack-files.ts";
import { ROOT, STACKS } from "./helpers.ts";

const projectDoc = parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
  name: string;
  runtime: { name: string; options: Record<string, unknown> };
  config: Record<string, { type: string; description?: string; secret?: boolean; default?: unknown }>;
};

describe("stack config", () => {
  it("Pulumi.yaml: the project, the ESM-through-tsx runtime, and a typed, described schema for every key the program reads", () => {
    assert.equal(projectDoc.name, PROJECT_NAMESPACE);
    assert.deepEqual(projectDoc.runtime, { name: "nodejs", options: { typescript: false, nodeargs: "--import tsx" } });
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { main: string; type: string };
    assert.equal(pkg.main, "index.ts");
    assert.equal(pkg.type, "module");
    const declared = Object.keys(projectDoc.config).map((k) => `${PROJECT_NAMESPACE}:${k}`).sort();
    const read = ALL_CONFIG_KEYS.filter((k) => k.startsWith(`${PROJECT_NAMESPACE}:`) && !STRUCTURED_KEYS.some((s) => k.endsWith(`:${s}`))).sort();
    assert.deepEqual(declared, read);
    for (const [key, decl] of Object.entries(projectDoc.config)) {
      assert.ok(["string", "integer", "boolean", "array"].includes(decl.type), `${key} has a schema type`);
      assert.ok((decl.description ?? "").length > 10, `${key} has a description`);
    }
    for (const secret of SECRET_KEYS) {
      assert.equal(projectDoc.config[secret]?.secret, true, `${secret} is declared secret`);
      assert.equal(projectDoc.config[secret]?.default, undefined, `${secret} has no default`);
    }
  });

  for (const stack of STACKS) {
    it(`${stack}: the stack file validates, holds the project and region, and no secret`, () => {
      const files = readStackFiles(ROOT, stack);
      const config = parseStackConfig(files.config);
      assert.equal(config.environment, stack);
      assert.match(config.project, /^[a-z][-a-z0-9]+$/);
      const text = readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      for (const secret of SECRET_KEYS) assert.ok(!text.includes(secret + ":"), `${secret} is not in Pulumi.${stack}.yaml`);
      assert.deepEqual(files.placeholders, SECRET_KEYS.map((k) => `${PROJECT_NAMESPACE}:${k}`).sort());
      for (const key of files.placeholders) assert.equal(files.config[key], SECRET_PLACEHOLDER);
    });
  }

  it("prod has deletion protection, dev does not", () => {
    assert.equal(parseStackConfig(readStackFiles(ROOT, "prod").config).bigquery.deletionProtection, true);
    assert.equal(parseStackConfig(readStackFiles(ROOT, "dev").config).bigquery.deletionProtection, false);
  });

  it("bad and missing keys fail together, each named", () => {
    const raw = { ...readStackFiles(ROOT, "dev").config };
    delete raw["gcp:project"];
    delete raw[`${PROJECT_NAMESPACE}:slackWebhookUrl`];
    raw[`${PROJECT_NAMESPACE}:functionTimeoutSeconds`] = "900";
    raw[`${PROJECT_NAMESPACE}:deletionProtection`] = "yes";
    raw[`${PROJECT_NAMESPACE}:pipeline`] = "{not json";
    assert.throws(
      () => parseStackConfig(raw),
      (e: unknown) => {
        assert.ok(e instanceof StackConfigError);
        const text = e.problems.join("\n");
        for (const key of ["gcp:project", "slackWebhookUrl", "functionTimeoutSeconds", "deletionProtection", "pipeline"]) {
          assert.ok(text.includes(key), `names ${key}: ${text}`);
        }
        assert.equal(e.problems.length, 5);
        return true;
      },
    );
  });

  it("cross-key rules are checked", () => {
    const raw = { ...readStackFiles(ROOT, "dev").config };
    raw[`${PROJECT_NAMESPACE}:functionMinInstances`] = "5";
    raw[`${PROJECT_NAMESPACE}:functionMaxInstances`] = "2";
    assert.throws(() => parseStackConfig(raw), /functionMinInstances: must not exceed/);
  });

  it("firestoreLocation: empty means the stack's region; a multi-region or another region is taken; anything else is refused", () => {
    const raw = { ...readStackFiles(ROOT, "dev").config };
    const at = (location: string) => parseStackConfig({ ...raw, [`${PROJECT_NAMESPACE}:firestoreLocation`]: location }).firestore.location;
    assert.equal(at(""), raw["gcp:region"]);
    assert.equal(at("nam5"), "nam5");
    assert.equal(at("europe-west3"), "europe-west3");
    for (const bad of ["US", "nam", "us west2", "mars-1"]) assert.throws(() => at(bad), /firestoreLocation: must be "" \(the region\)/, bad);
    const prod = parseStackConfig(readStackFiles(ROOT, "prod").config);
    assert.deepEqual([prod.firestore.deletionProtection, parseStackConfig(raw).firestore.deletionProtection], [true, false]);
  });

  it("an unknown stack is a clear error listing the known ones", () => {
    assert.throws(() => readStackFiles(ROOT, "qa"), (e: unknown) => e instanceof UnknownStackError && /dev, prod, staging/.test(e.message));
    assert.throws(() => readStackFiles(ROOT, "../etc"), UnknownStackError);
  });
});

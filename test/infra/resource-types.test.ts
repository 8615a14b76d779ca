// The resource type tokens (functions/core/resource-types.ts): each is the provider SDK's own, the
// program declares no type missing from them, and no other source file spells a token again.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import { rootPulumiStackTypeName } from "@pulumi/pulumi/runtime/stack.js";
import { INVOKE_TOKENS, RESOURCE_TYPES } from "../../functions/core/resource-types.ts";
import { planOf, ROOT } from "./helpers.ts";

type ClassWithType = { __pulumiType?: string };

/** The SDK class a token names: gcp:<module>/<file>:<Class> is gcp.<module>.<Class>. */
function sdkTypeOf(token: string): string | undefined {
  const [provider, middle, name] = token.split(":");
  if (provider === "pulumi") return token === rootPulumiStackTypeName ? token : undefined;
  const mod = middle?.split("/")[0];
  if (provider === "random") return ((random as unknown as Record<string, ClassWithType>)[name ?? ""])?.__pulumiType;
  const ns = (gcp as unknown as Record<string, Record<string, ClassWithType> | undefined>)[mod ?? ""];
  return ns?.[name ?? ""]?.__pulumiType;
}

/** Source files (not tests' data) under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

const TOKEN_LITERAL = /["'`](?:gcp|random|pulumi):[A-Za-z0-9]+(?:\/[A-Za-z0-9]+)?:[A-Za-z0-9]+["'`]/g;

describe("resource type tokens (functions/core/resource-types.ts)", function () {
  this.timeout(180_000);

  for (const [key, token] of Object.entries(RESOURCE_TYPES)) {
    it(`${key}: ${token} is the SDK's own token`, () => assert.equal(sdkTypeOf(token), token));
  }

  it("the invoke tokens are the SDK's own", () => {
    const source = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/organizations/getProject.js"), "utf8");
    assert.ok(source.includes(`"${INVOKE_TOKENS.getProject}"`));
  });

  it("every resource type the program declares is listed", async () => {
    const listed = new Set<string>(Object.values(RESOURCE_TYPES));
    const missing = [...new Set((await planOf("dev")).resources.filter((r) => r.custom).map((r) => r.type))].filter((t) => !listed.has(t));
    assert.deepEqual(missing, []);
  });

  it("no other source file spells a token: the program, infra, functions, policies, tools and the test helpers import them", () => {
    const files = [
      "index.ts",
      ...["infra", "functions", "policies", "tools"].flatMap(sources),
      "test/infra/helpers.ts",
      "test/policies/fixtures.ts",
    ].filter((f) => f !== "functions/core/resource-types.ts" && !f.includes("node_modules"));
    const spelled = files.flatMap((f) => [...readFileSync(path.join(ROOT, f), "utf8").matchAll(TOKEN_LITERAL)].map((m) => `${f}: ${m[0]}`));
    assert.deepEqual(spelled, []);
  });
});

// `npm run build`: bundles every function of the (default) pipeline and writes
// dist/functions/<name>/<sha256>.zip and dist/functions/manifest.json. The same archives the Pulumi
// program builds while it evaluates, so the manifest hashes equal the deployed code-hash labels.
// esbuild and the program's modules load only after the arguments are parsed.
import * as path from "node:path";
import { defineCommand } from "./cli/command.ts";
import { runIfMain } from "./cli/main.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const MANIFEST = "dist/functions/manifest.json";

export const BUILD_COMMAND = defineCommand({
  tool: "build",
  synopsis: "npm run build [-- --help]",
  summary: `Bundles every function (esbuild, node22, deterministic zip) and writes
dist/functions/<name>/<sha256>.zip and ${MANIFEST}.`,
  options: {},
  notes: `Manifest: {"functions": {"<function-name>": {"sha256", "archive", "bytes"}}}; names are the
pipeline model's functionName values (no environment prefix).
Exit codes: 0 built, 1 the build failed, 2 usage error.`,
});

async function main(argv: string[]): Promise<number> {
  const values = BUILD_COMMAND.parse(argv);
  if (values.help) {
    process.stdout.write(BUILD_COMMAND.help);
    return 0;
  }
  const [{ loadPipeline }, { buildAndWriteManifest, MANIFEST_FILE }, { functionRegistry }] = await Promise.all([
    import("../functions/core/pipeline.ts"),
    import("../infra/bundle/build-all.ts"),
    import("../infra/function-registry.ts"),
  ]);
  const manifest = await buildAndWriteManifest(ROOT, functionRegistry(loadPipeline()));
  for (const [name, m] of Object.entries(manifest.functions)) {
    process.stdout.write(`${name}  ${m.sha256}  ${m.bytes} bytes  ${m.archive}\n`);
  }
  process.stdout.write(`wrote ${MANIFEST_FILE}\n`);
  return 0;
}

await runIfMain(import.meta.url, { tool: "build", synopsis: BUILD_COMMAND.synopsis, failureExitCode: 1 }, main);

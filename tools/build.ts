// `npm run build`: bundles every function of the (default) pipeline and writes
// dist/functions/<name>/<sha256>.zip and dist/functions/manifest.json. The same archives the Pulumi
// program builds while it evaluates, so the manifest hashes equal the deployed code-hash labels.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPipeline } from "../functions/core/pipeline.ts";
import { buildAndWriteManifest, MANIFEST_FILE } from "../infra/bundle/build-all.ts";
import { functionRegistry } from "../infra/function-registry.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `usage: npm run build [-- --help]
Bundles every function (esbuild, node22, deterministic zip) and writes
dist/functions/<name>/<sha256>.zip and ${MANIFEST_FILE}.
Manifest: {"functions": {"<function-name>": {"sha256", "archive", "bytes"}}}; names are the
pipeline model's functionName values (no environment prefix).`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`unknown arguments: ${argv.join(" ")}\n${USAGE}\n`);
    return 2;
  }
  const manifest = await buildAndWriteManifest(ROOT, functionRegistry(loadPipeline()));
  for (const [name, m] of Object.entries(manifest.functions)) {
    process.stdout.write(`${name}  ${m.sha256}  ${m.bytes} bytes  ${m.archive}\n`);
  }
  process.stdout.write(`wrote ${MANIFEST_FILE}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

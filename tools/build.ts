// `npm run build`: bundles every function of the (default) pipeline and writes
// dist/functions/<name>/<sha256>.zip and dist/functions/manifest.json. The same archives the Pulumi
// program builds while it evaluates, so the manifest hashes equal the deployed code-hash labels.
import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPipeline } from "../functions/core/pipeline.ts";
import { buildFunctionArchive } from "../infra/bundle/function-archive.ts";
import { DIST_FUNCTIONS_DIR, manifestOf, writeArchive } from "../infra/bundle/manifest.ts";
import { functionRegistry } from "../infra/function-registry.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `usage: npm run build [-- --help]
Bundles every function (esbuild, node22, deterministic zip) and writes
${DIST_FUNCTIONS_DIR}/<name>/<sha256>.zip and ${DIST_FUNCTIONS_DIR}/manifest.json.`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`unknown arguments: ${argv.join(" ")}\n${USAGE}\n`);
    return 2;
  }
  const specs = functionRegistry(loadPipeline());
  const archives = await Promise.all(specs.map((s) => buildFunctionArchive({ rootDir: ROOT, name: s.name, entry: s.entry })));
  await Promise.all(archives.map((a) => writeArchive(ROOT, a)));
  const manifest = manifestOf(archives);
  await mkdir(path.join(ROOT, DIST_FUNCTIONS_DIR), { recursive: true });
  await writeFile(path.join(ROOT, DIST_FUNCTIONS_DIR, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  for (const [name, m] of Object.entries(manifest.functions)) {
    process.stdout.write(`${name}  ${m.sha256}  ${m.bytes} bytes  ${m.archive}\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

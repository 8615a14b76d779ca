// Builds every function of a registry and writes the archives plus dist/functions/manifest.json:
// what `npm run build` does, and what the tests compare the program's hashes against.
import { mkdir, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { FunctionSpec } from "../function-registry.ts";
import { buildFunctionArchive } from "./function-archive.ts";
import type { FunctionArchive } from "./function-archive.ts";
import { DIST_FUNCTIONS_DIR, manifestOf, writeArchive } from "./manifest.ts";
import type { FunctionsManifest } from "./manifest.ts";

export function buildArchives(rootDir: string, specs: readonly FunctionSpec[]): Promise<FunctionArchive[]> {
  return Promise.all(specs.map((s) => buildFunctionArchive({ rootDir, name: s.name, entry: s.entry })));
}

export const MANIFEST_FILE = `${DIST_FUNCTIONS_DIR}/manifest.json`;

/** Build, write every archive and the manifest under rootDir; returns the manifest. */
export async function buildAndWriteManifest(rootDir: string, specs: readonly FunctionSpec[]): Promise<FunctionsManifest> {
  const archives = await buildArchives(rootDir, specs);
  await Promise.all(archives.map((a) => writeArchive(rootDir, a)));
  const manifest = manifestOf(archives);
  await mkdir(path.join(rootDir, DIST_FUNCTIONS_DIR), { recursive: true });
  await writeFile(path.join(rootDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

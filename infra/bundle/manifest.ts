// Writes archives to dist/functions/<name>/<sha256>.zip and describes them in
// dist/functions/manifest.json: {"functions": {"<name>": {"sha256", "archive", "bytes", "inputs"}}}.
import { mkdir, rename, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { FunctionArchive } from "./function-archive.ts";

export const DIST_FUNCTIONS_DIR = "dist/functions";

export interface ManifestEntry {
  sha256: string;
  /** Archive path relative to the project root (posix). */
  archive: string;
  bytes: number;
  /** Source files bundled into it (posix, relative to the root): the drift report counts commits to these. */
  inputs: string[];
}
export interface FunctionsManifest {
  functions: Record<string, ManifestEntry>;
}

/** Relative (posix) path of an archive under the project root. */
export function archivePath(archive: Pick<FunctionArchive, "name" | "sha256">): string {
  return `${DIST_FUNCTIONS_DIR}/${archive.name}/${archive.sha256}.zip`;
}

/** Write one archive (atomically: concurrent evaluations write identical bytes to the same name). */
export async function writeArchive(rootDir: string, archive: FunctionArchive): Promise<string> {
  const rel = archivePath(archive);
  const abs = path.join(rootDir, rel);
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.${process.pid}.tmp`;
  await writeFile(tmp, archive.zip);
  await rename(tmp, abs);
  return abs;
}

export function manifestOf(archives: readonly FunctionArchive[]): FunctionsManifest {
  const functions: Record<string, ManifestEntry> = {};
  for (const a of [...archives].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    functions[a.name] = { sha256: a.sha256, archive: archivePath(a), bytes: a.bytes, inputs: [...a.inputs].sort() };
  }
  return { functions };
}

// One function's deployable archive: the esbuild bundle (index.js) plus the package.json and
// package-lock.json the platform installs from, zipped deterministically. Its sha256 is the function's
// code identity. Built while the Pulumi program evaluates, so a preview can never show a stale hash.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { deterministicZip } from "./deterministic-zip.ts";
import { bundleEntry, PLATFORM_PACKAGES } from "./esbuild-bundle.ts";
import { platformManifest } from "./platform-lock.ts";

export interface FunctionArchive {
  /** The model's functionName (no environment prefix): the code identity. */
  name: string;
  /** sha256 hex of the archive bytes. */
  sha256: string;
  bytes: number;
  zip: Buffer;
  /** Source files bundled into index.js (posix, relative to the root), sorted. */
  inputs: string[];
}

export interface ArchiveRequest {
  /** Project root: holds package-lock.json and the entry. */
  rootDir: string;
  name: string;
  /** Entry point, relative to rootDir. */
  entry: string;
}

export const ARCHIVE_FILES = { bundle: "index.js", packageJson: "package.json", packageLock: "package-lock.json" } as const;

export const sha256Hex = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** Build without the cache (determinism checks). */
export async function buildFunctionArchiveFresh(req: ArchiveRequest): Promise<FunctionArchive> {
  return buildUncached(req, await readFile(path.join(req.rootDir, LOCKFILE), "utf8"));
}

async function buildUncached(req: ArchiveRequest, rootLockText: string): Promise<FunctionArchive> {
  const bundle = await bundleEntry(req.rootDir, req.entry);
  const manifest = platformManifest(JSON.parse(rootLockText), req.name, PLATFORM_PACKAGES);
  const zip = await deterministicZip([
    { name: ARCHIVE_FILES.bundle, data: bundle.code },
    { name: ARCHIVE_FILES.packageJson, data: Buffer.from(manifest.packageJson) },
    { name: ARCHIVE_FILES.packageLock, data: Buffer.from(manifest.packageLock) },
  ]);
  return { name: req.name, sha256: sha256Hex(zip), bytes: zip.length, zip, inputs: bundle.inputs };
}

// Per-process cache: evaluating several stacks (tests, plan) bundles each function once. An entry is
// reused only while the digest of every file it was built from (and the root lockfile) is unchanged.
interface CacheEntry {
  inputsDigest: string;
  archive: FunctionArchive;
}
const cache = new Map<string, Promise<CacheEntry>>();

async function digestOf(rootDir: string, files: readonly string[]): Promise<string> {
  const h = createHash("sha256");
  for (const file of files) {
    h.update(file).update("\0");
    h.update(await readFile(path.join(rootDir, file))).update("\0");
  }
  return h.digest("hex");
}

const LOCKFILE = "package-lock.json";

/** Build (or reuse from this process's cache) the archive of one function. */
export async function buildFunctionArchive(req: ArchiveRequest): Promise<FunctionArchive> {
  const key = JSON.stringify([path.resolve(req.rootDir), req.entry, req.name]);
  const cached = cache.get(key);
  if (cached !== undefined) {
    const entry = await cached;
    const current = await digestOf(req.rootDir, [LOCKFILE, ...entry.archive.inputs]).catch((error: unknown) => {
      // A file that went into the bundle is gone: not reusable, rebuild (the rebuild reports real errors).
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw error;
    });
    if (current === entry.inputsDigest) return entry.archive;
  }
  const building = (async (): Promise<CacheEntry> => {
    const lockText = await readFile(path.join(req.rootDir, LOCKFILE), "utf8");
    const archive = await buildUncached(req, lockText);
    return { archive, inputsDigest: await digestOf(req.rootDir, [LOCKFILE, ...archive.inputs]) };
  })();
  cache.set(key, building);
  // A failed build must not poison the cache for the next attempt.
  building.catch(() => cache.delete(key));
  return (await building).archive;
}

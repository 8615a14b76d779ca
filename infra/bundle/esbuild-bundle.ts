// Bundles one function entry point into a single ESM file with esbuild. Deterministic: the same
// sources give the same bytes on any machine (paths in the output are relative to rootDir, no
// timestamps, no source maps with absolute paths).
import * as esbuild from "esbuild";

/**
 * Packages the platform installs from the archive's package.json instead of the bundle. The
 * functions framework must be one instance shared by the server and the user code: it registers the
 * target in a module-level registry, so a bundled copy would register into a registry nobody reads.
 */
export const PLATFORM_PACKAGES = ["@google-cloud/functions-framework"] as const;

// ESM output, but the bundled CommonJS libraries (the Google clients) still call require() for
// Node built-ins and read __dirname/__filename; define them from import.meta.url.
export const ESM_CJS_SHIM = [
  'import { createRequire as __bundleCreateRequire } from "node:module";',
  'import { fileURLToPath as __bundleFileURLToPath } from "node:url";',
  'import { dirname as __bundleDirname } from "node:path";',
  "const require = __bundleCreateRequire(import.meta.url);",
  "const __filename = __bundleFileURLToPath(import.meta.url);",
  "const __dirname = __bundleDirname(__filename);",
].join("\n");

export interface BundleOutput {
  /** The bundle (index.js). */
  code: Uint8Array;
  /** Every source file that went into it, as posix paths relative to rootDir, sorted. */
  inputs: string[];
}

/** Bundle `entry` (relative to rootDir) for the nodejs22 runtime. Build errors reject with esbuild's messages. */
export async function bundleEntry(rootDir: string, entry: string): Promise<BundleOutput> {
  const result = await esbuild.build({
    absWorkingDir: rootDir,
    entryPoints: [entry],
    outfile: "index.js",
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    banner: { js: ESM_CJS_SHIM },
    external: [...PLATFORM_PACKAGES],
    write: false,
    metafile: true,
    sourcemap: false,
    minify: false,
    legalComments: "eof",
    logLevel: "silent",
  });
  const out = result.outputFiles[0];
  if (out === undefined || result.outputFiles.length !== 1) {
    throw new Error(`esbuild produced ${result.outputFiles.length} output files for ${entry}, expected exactly 1`);
  }
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => p.replace(/\\/g, "/"))
    .sort();
  return { code: out.contents, inputs };
}

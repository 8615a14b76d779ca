// How many commits the deployed code of a function is behind, from git history. Cheap and
// honest rather than exact (docs/DRIFT.md, "Commits behind"):
// - the deployed commit is the tag `deployed/<stack>`, which the deploy workflow moves after
//   every successful `pulumi up` of that stack (or a ref given with --deployed-ref);
// - the function's sources are the repository files its bundle was built from, read from the
//   esbuild metafile dist/functions/<name>/meta.json or the manifest entry's `inputs` (plus
//   package-lock.json when the bundle includes node_modules), so shared code counts only for
//   functions that include it;
// - the count is `git rev-list --count <deployed>..HEAD -- <sources>`.
// Anything that makes this unknowable yields a reason instead of a number; a count of 0 for
// a function whose code differs is a contradiction (the deployed code was not built from that
// commit), so it is a reason too, never a "0 behind".
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type CommitsBehind = { ok: true; commits: number } | { ok: false; reason: string };

export interface GitRepo {
  root: string;
}

/** The repository containing `dir`, or a reason why there is none. */
export async function openRepo(dir: string): Promise<GitRepo | { reason: string }> {
  const result = await git(dir, ["rev-parse", "--show-toplevel"]);
  if (!result.ok) return { reason: `${dir} is not in a git repository` };
  return { root: result.stdout.trim() };
}

export function deployedRefFor(stack: string): string {
  return `deployed/${stack}`;
}

export async function commitsBehind(repo: GitRepo, deployedRef: string, functionName: string): Promise<CommitsBehind> {
  const deployed = await git(repo.root, ["rev-parse", "--verify", "--quiet", `${deployedRef}^{commit}`]);
  if (!deployed.ok) return { ok: false, reason: `no ref ${deployedRef} in ${repo.root}` };
  const commit = deployed.stdout.trim();
  const ancestor = await git(repo.root, ["merge-base", "--is-ancestor", commit, "HEAD"]);
  if (!ancestor.ok) return { ok: false, reason: `${deployedRef} is not an ancestor of HEAD` };

  const sources = await bundleSources(repo.root, functionName);
  if ("reason" in sources) return { ok: false, reason: sources.reason };
  const counted = await git(repo.root, [
    "rev-list",
    "--count",
    `${commit}..HEAD`,
    "--",
    ...sources.files.map((file) => `:(literal)${file}`),
  ]);
  if (!counted.ok) return { ok: false, reason: `git rev-list failed: ${counted.stderr.trim()}` };
  const commits = Number(counted.stdout.trim());
  if (!Number.isInteger(commits)) return { ok: false, reason: `git rev-list printed ${counted.stdout.trim()}` };
  if (commits === 0) {
    return {
      ok: false,
      reason: `no commit since ${deployedRef} touched its sources, so the deployed code was not built from ${deployedRef}`,
    };
  }
  return { ok: true, commits };
}

/**
 * Repository files the function's bundle is built from: the esbuild metafile
 * dist/functions/<name>/meta.json ({"inputs": {"<path>": ...}}) or, failing that, an `inputs`
 * list in the build manifest's entry for the function. Paths are relative to the repository root.
 */
export async function bundleSources(root: string, functionName: string): Promise<{ files: string[] } | { reason: string }> {
  const metafileRel = `dist/functions/${functionName}/meta.json`;
  const manifestRel = "dist/functions/manifest.json";
  const metafile = await readOptional(path.join(root, metafileRel));
  let inputs: string[] | undefined;
  if (metafile !== undefined) {
    inputs = Object.keys((JSON.parse(metafile) as { inputs?: Record<string, unknown> }).inputs ?? {});
  } else {
    const manifest = await readOptional(path.join(root, manifestRel));
    const entry =
      manifest === undefined
        ? undefined
        : (JSON.parse(manifest) as { functions?: Record<string, { inputs?: unknown }> }).functions?.[functionName];
    if (Array.isArray(entry?.inputs)) inputs = entry.inputs.filter((i): i is string => typeof i === "string");
  }
  if (inputs === undefined) {
    return { reason: `the build recorded no bundle inputs (neither ${metafileRel} nor "inputs" in ${manifestRel})` };
  }
  const files = new Set<string>();
  let usesDependencies = false;
  for (const input of inputs.map((i) => i.replace(/\\/g, "/"))) {
    if (input.split("/").includes("node_modules")) usesDependencies = true;
    // Skip esbuild's virtual inputs ("<define:...>", "ns:path"); keep repository paths.
    else if (!input.includes(":") && !input.startsWith("<")) files.add(path.posix.normalize(input));
  }
  // The archive's dependencies are pinned by the lockfile (the build derives the archive's own from it).
  if (usesDependencies) files.add("package-lock.json");
  if (files.size === 0) return { reason: `the build lists no repository file for ${functionName}` };
  return { files: [...files].sort() };
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    // Only absence is an expected answer ("cannot be determined"); anything else propagates.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

type GitResult = { ok: true; stdout: string } | { ok: false; stderr: string };

async function git(cwd: string, args: string[]): Promise<GitResult> {
  try {
    const { stdout } = await run("git", ["-C", cwd, ...args], { encoding: "utf8" });
    return { ok: true, stdout };
  } catch (error) {
    // A non-zero git exit is an answer here (no such ref, not an ancestor); the caller turns it
    // into a stated reason. A missing git binary is not an answer: rethrow.
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === "ENOENT") throw error;
    return { ok: false, stderr: failure.stderr ?? String(error) };
  }
}

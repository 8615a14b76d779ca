// The package.json and package-lock.json that go into a function's archive: they pin only what the
// platform must install (the functions framework), at the exact versions of the root lockfile, so the
// code hash covers the dependencies that run too. Derived from the root package-lock.json, offline.
// Pure: takes the parsed root lockfile, returns JSON text.

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}
interface RootLock {
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}

export class LockfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockfileError";
  }
}

/** Where Node would find `dep` required from the package installed at `from` (a lockfile path). */
function resolveInLock(packages: Record<string, LockEntry>, from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === "" ? `node_modules/${dep}` : `${base}/node_modules/${dep}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === "") return undefined;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut < 0 ? "" : base.slice(0, cut);
  }
}

/** Lockfile paths of `roots` and everything they need at run time (optional deps when locked; non-optional peers). */
function closure(packages: Record<string, LockEntry>, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const name of roots) {
    const path = resolveInLock(packages, "", name);
    if (path === undefined) throw new LockfileError(`${name} is not in the root package-lock.json (run npm install)`);
    queue.push(path);
  }
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = packages[path]!;
    const optionalPeers = new Set(
      Object.entries(entry.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional === true)
        .map(([name]) => name),
    );
    const required = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n))];
    for (const dep of required) {
      const found = resolveInLock(packages, path, dep);
      if (found === undefined) throw new LockfileError(`${dep} (needed by ${path}) is not in the root package-lock.json`);
      queue.push(found);
    }
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      const found = resolveInLock(packages, path, dep);
      if (found !== undefined) queue.push(found);
    }
  }
  return [...seen].sort();
}

// Flags that describe the root project's dependency graph, not this one's.
const ROOT_GRAPH_FLAGS = ["dev", "devOptional", "peer", "extraneous"];

export interface PlatformManifest {
  /** package.json text */
  packageJson: string;
  /** package-lock.json text */
  packageLock: string;
  /** Exact versions of the direct dependencies. */
  dependencies: Record<string, string>;
}

/** package.json + package-lock.json for an archive named `name` that installs `packages` (exact versions from `rootLock`). */
export function platformManifest(rootLock: unknown, name: string, packages: readonly string[]): PlatformManifest {
  const lock = rootLock as RootLock;
  if (lock.lockfileVersion === undefined || lock.lockfileVersion < 2 || lock.packages === undefined) {
    throw new LockfileError("the root package-lock.json must be lockfileVersion 2 or 3 (with a `packages` map)");
  }
  const all = lock.packages;
  const dependencies: Record<string, string> = {};
  for (const pkg of [...packages].sort()) {
    const version = all[`node_modules/${pkg}`]?.version;
    if (version === undefined) throw new LockfileError(`${pkg} is not a top-level package of the root package-lock.json`);
    dependencies[pkg] = version;
  }
  const packageJson = {
    name,
    version: "0.0.0",
    private: true,
    type: "module",
    main: "index.js",
    engines: { node: "22" },
    dependencies,
  };
  const lockPackages: Record<string, unknown> = { "": { name, version: "0.0.0", dependencies } };
  for (const path of closure(all, packages)) {
    const entry: LockEntry = { ...all[path]! };
    for (const flag of ROOT_GRAPH_FLAGS) delete entry[flag];
    lockPackages[path] = entry;
  }
  const packageLock = { name, version: "0.0.0", lockfileVersion: 3, requires: true, packages: lockPackages };
  return {
    packageJson: JSON.stringify(packageJson, null, 2) + "\n",
    packageLock: JSON.stringify(packageLock, null, 2) + "\n",
    dependencies,
  };
}

// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would hand them to the program:
// project defaults, then the stack's values, every value as the string the language host puts in
// PULUMI_CONFIG (structured values as JSON). Secrets are never in the stack files here; they get a
// visible placeholder, and the caller says so.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export const SECRET_PLACEHOLDER = "[secret]";

export class UnknownStackError extends Error {
  constructor(
    readonly stackName: string,
    readonly known: string[],
  ) {
    super(`unknown stack ${JSON.stringify(stackName)}: no Pulumi.${stackName}.yaml (known stacks: ${known.join(", ") || "none"})`);
    this.name = "UnknownStackError";
  }
}

export interface StackFiles {
  project: string;
  stack: string;
  /** Full key -> string value, as PULUMI_CONFIG holds it. */
  config: Record<string, string>;
  /** Full keys whose values are secrets (placeholders here). */
  secretKeys: string[];
  /** Secret keys that hold the placeholder (all of them: no secret value is available offline). */
  placeholders: string[];
}

interface ProjectConfigDecl {
  type?: string;
  default?: unknown;
  secret?: boolean;
  value?: unknown;
}

const asConfigString = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

export function knownStacks(rootDir: string): string[] {
  return [
    ...new Set(
      readdirSync(rootDir)
        .map((f) => /^Pulumi\.([^.]+)\.ya?ml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined),
    ),
  ].sort();
}

export function readStackFiles(rootDir: string, stack: string): StackFiles {
  const projectFile = path.join(rootDir, "Pulumi.yaml");
  const projectDoc = parse(readFileSync(projectFile, "utf8")) as { name?: string; config?: Record<string, ProjectConfigDecl | unknown> };
  const project = projectDoc.name;
  if (typeof project !== "string") throw new Error(`${projectFile} has no project name`);

  const stackFile = ["yaml", "yml"].map((ext) => path.join(rootDir, `Pulumi.${stack}.${ext}`)).find((f) => existsSync(f));
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || stackFile === undefined) throw new UnknownStackError(stack, knownStacks(rootDir));
  const stackDoc = (parse(readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };

  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const qualify = (key: string): string => (key.includes(":") ? key : `${project}:${key}`);

  for (const [key, decl] of Object.entries(projectDoc.config ?? {})) {
    const full = qualify(key);
    if (decl !== null && typeof decl === "object" && !Array.isArray(decl)) {
      const d = decl as ProjectConfigDecl;
      if (d.secret === true) secretKeys.add(full);
      if ("value" in d) config[full] = asConfigString(d.value);
      else if ("default" in d) config[full] = asConfigString(d.default);
    } else {
      config[full] = asConfigString(decl);
    }
  }
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    const full = qualify(key);
    if (value !== null && typeof value === "object" && "secure" in (value as object)) {
      // An encrypted value cannot be decrypted offline: it becomes a placeholder like any secret.
      secretKeys.add(full);
      continue;
    }
    config[full] = asConfigString(value);
  }
  // Every secret is a placeholder offline, even one written in plain text by mistake: the plan
  // output (and the mocks, which see plain values) must never carry a secret's value.
  const placeholders = [...secretKeys].sort();
  for (const key of placeholders) config[key] = SECRET_PLACEHOLDER;
  return { project, stack, config, secretKeys: [...secretKeys].sort(), placeholders };
}

// Stack config overrides for a local run (e.g. `triggerMode: shadow` for `npm start -- --shadow`):
// the project file and the stack file are copied into a folder of their own with the overridden keys
// set, and the program is evaluated from there, exactly as `pulumi config set` would have left them.
// The stack files in the repository are never touched.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { readStackFiles } from "../plan/stack-files.ts";

/** Short keys (`triggerMode`) get the project's namespace; `gcp:project` style keys stay as given. */
export async function configDirWithOverrides(rootDir: string, stack: string, overrides: Readonly<Record<string, string>>, workDir: string): Promise<string> {
  const { project } = readStackFiles(rootDir, stack); // unknown stack: fails here, before anything is written
  const dir = path.join(workDir, "stack-config");
  await mkdir(dir, { recursive: true });
  await copyFile(path.join(rootDir, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  const stackFile = ["yaml", "yml"].map((ext) => path.join(rootDir, `Pulumi.${stack}.${ext}`));
  let doc: { config?: Record<string, unknown> } = {};
  for (const file of stackFile) {
    try {
      doc = (parse(await readFile(file, "utf8")) ?? {}) as typeof doc;
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  const config = { ...(doc.config ?? {}) };
  for (const [key, value] of Object.entries(overrides)) config[key.includes(":") ? key : `${project}:${key}`] = value;
  await writeFile(path.join(dir, `Pulumi.${stack}.yaml`), stringify({ ...doc, config }));
  return dir;
}

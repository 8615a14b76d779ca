// The repository explains itself: no file refers a reader to a document outside it, and every failure
// mode a comment cites is one docs/ARCHITECTURE.md defines. Scans every tracked file (git ls-files),
// so a file is covered the moment it is committed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ARCHITECTURE = "docs/ARCHITECTURE.md";
const SELF = "test/ops/stands-alone.test.ts";

/** References to documents that are not in the repository. */
const OUTSIDE: readonly { what: string; re: RegExp }[] = [
  { what: "a design document outside the repository", re: /\bDESIGN(?:\.md)?\b/ },
  { what: "a brief", re: /\bthe brief\b/i },
  { what: "a seed document", re: /\bseed document\b|\bthe seed's\b/i },
];
/** A relative path (`../x`, `../../x/y`): it must resolve inside the repository from the file that names it. */
const RELATIVE_PATH = /(?:\.\.\/)+[\w.@-]+/g;
/** "failure mode 3", "failure modes 1 and 11": fine only when the same line points at ARCHITECTURE.md. */
const NUMBERED_FAILURE_MODE = /\bfailure modes? \d+/i;
const FM_CITATION = /\bFM(\d+)\b/g;

export interface Finding {
  line: number;
  problem: string;
  text: string;
}

/**
 * What in `text` (the content of `file`, a path relative to the repository root) points outside the
 * repository, or cites a failure mode without saying where.
 */
export function outsideReferences(text: string, file = "README.md"): Finding[] {
  const findings: Finding[] = [];
  const dir = path.posix.dirname(file);
  text.split("\n").forEach((line, i) => {
    for (const { what, re } of OUTSIDE) {
      if (re.test(line)) findings.push({ line: i + 1, problem: `refers to ${what}`, text: line.trim() });
    }
    for (const [ref] of line.matchAll(RELATIVE_PATH)) {
      if (path.posix.normalize(path.posix.join(dir, ref)).startsWith("../")) {
        findings.push({ line: i + 1, problem: `names ${ref}, a path outside the repository`, text: line.trim() });
      }
    }
    if (NUMBERED_FAILURE_MODE.test(line) && !line.includes("ARCHITECTURE.md")) {
      findings.push({ line: i + 1, problem: `cites a failure mode without pointing at ${ARCHITECTURE}`, text: line.trim() });
    }
  });
  return findings;
}

/** The FM numbers `text` cites. */
export function citedFailureModes(text: string): number[] {
  return [...text.matchAll(FM_CITATION)].map((m) => Number(m[1]));
}

/** The FM numbers ARCHITECTURE.md defines: list items of the form `N. **FMN: ...`. */
export function definedFailureModes(architecture: string): number[] {
  return [...architecture.matchAll(/^\s*(\d+)\.\s+\*\*FM(\d+):/gm)].map((m) => {
    assert.equal(m[1], m[2], `list item ${m[1]} defines FM${m[2]}: the numbers must match`);
    return Number(m[2]);
  });
}

function trackedTextFiles(): { file: string; text: string }[] {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .split("\0")
    .filter((f) => f !== "" && f !== SELF && !f.includes("node_modules/") && !f.endsWith("package-lock.json"));
  const out: { file: string; text: string }[] = [];
  for (const file of files) {
    let buf: Buffer;
    try {
      buf = readFileSync(path.join(ROOT, file));
    } catch (error) {
      // Tracked but deleted in the working tree (someone's change in progress): nothing to read.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    if (buf.includes(0)) continue; // binary
    out.push({ file, text: buf.toString("utf8") });
  }
  return out;
}

describe("the repository stands alone", () => {
  describe("the scanner (positive controls)", () => {
    it("finds references to documents outside the repository", () => {
      const text = [
        "// see DESIGN.md, decision 4",
        "our rule (DESIGN) is",
        "The design brief is `../elsewhere/notes.md`.",
        "as the brief says",
        "from the seed document and the seed's scenarios",
        "clean line about the design of the system",
      ].join("\n");
      assert.deepEqual(
        outsideReferences(text).map((f) => f.line),
        [1, 2, 3, 4, 5],
      );
    });

    it("accepts a numbered failure mode only with a pointer to ARCHITECTURE.md", () => {
      assert.equal(outsideReferences("// (failure mode 6) the binding").length, 1);
      assert.equal(outsideReferences("failure modes 1 and 11").length, 1);
      assert.equal(outsideReferences("// docs/ARCHITECTURE.md FM6, failure mode 6").length, 0);
      assert.equal(outsideReferences("a failure mode of its own, unnumbered").length, 0);
      assert.equal(outsideReferences("random seed 42, chaos seed").length, 0);
    });

    it("resolves relative paths from the file that names them", () => {
      assert.equal(outsideReferences("see [runtime](../RUNTIME.md)", "docs/runbooks/x.md").length, 0);
      assert.equal(outsideReferences('import x from "../../functions/core/a.ts";', "test/ops/x.test.ts").length, 0);
      assert.equal(outsideReferences("see ../../notes.md", "docs/x.md").length, 1);
      assert.equal(outsideReferences("see ../notes.md").length, 1);
    });

    it("reads the FM numbers cited and defined", () => {
      assert.deepEqual(citedFailureModes("(docs/ARCHITECTURE.md FM2) and FM10; FMX, XFM3"), [2, 10]);
      assert.deepEqual(definedFailureModes("1. **FM1: a**\n2. **FM2: b**\n10. **FM10: c**"), [1, 2, 10]);
      assert.throws(() => definedFailureModes("3. **FM4: mismatched**"), /must match/);
    });
  });

  describe("the tracked files", () => {
    const files = trackedTextFiles();
    const architecture = readFileSync(path.join(ROOT, ARCHITECTURE), "utf8");

    it("are read (the scan is not vacuous)", () => {
      assert.ok(files.length > 100, `only ${files.length} tracked text files found`);
      assert.ok(files.some((f) => f.file === "README.md"));
    });

    it("refer to no document outside the repository and cite failure modes only through docs/ARCHITECTURE.md", () => {
      const problems = files.flatMap(({ file, text }) => outsideReferences(text, file).map((f) => `${file}:${f.line}: ${f.problem}: ${f.text}`));
      assert.deepEqual(problems, []);
    });

    it("README.md points at docs/ARCHITECTURE.md", () => {
      const readme = files.find((f) => f.file === "README.md")?.text ?? "";
      assert.match(readme, /docs\/ARCHITECTURE\.md/);
    });

    it("docs/ARCHITECTURE.md defines FM1..FM11 in order", () => {
      assert.deepEqual(definedFailureModes(architecture), Array.from({ length: 11 }, (_, i) => i + 1));
    });

    it("every FMn cited anywhere is defined in docs/ARCHITECTURE.md", () => {
      const defined = new Set(definedFailureModes(architecture));
      const undefinedCitations = files.flatMap(({ file, text }) =>
        citedFailureModes(text)
          .filter((n) => !defined.has(n))
          .map((n) => `${file}: FM${n}`),
      );
      assert.deepEqual(undefinedCitations, []);
    });
  });
});

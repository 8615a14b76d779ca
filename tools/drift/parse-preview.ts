// Decides whether a text is the output of `pulumi preview --json`, and if not, says what it is
// instead, so that a scheduled check that was fed the wrong thing fails with a reason rather
// than reporting "in sync" over an empty or foreign document. Pure: text in, verdict out.
import { z } from "zod";
import { issueProblems } from "../../functions/core/zod-issues.ts";
import type { PreviewDigest } from "./preview-types.ts";

export type UnreadableKind = "missing-file" | "not-json" | "not-a-preview" | "preview-failed";

export type PreviewVerdict =
  | { ok: true; digest: PreviewDigest }
  | { ok: false; kind: UnreadableKind; reason: string };

const stateSchema = z.looseObject({
  urn: z.string(),
  type: z.string(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
});

const stepSchema = z.looseObject({
  op: z.string().min(1),
  urn: z.string().startsWith("urn:pulumi:"),
  provider: z.string().optional(),
  oldState: stateSchema.optional(),
  newState: stateSchema.optional(),
  diffReasons: z.array(z.string()).nullish(),
  replaceReasons: z.array(z.string()).nullish(),
  detailedDiff: z
    .record(z.string(), z.looseObject({ kind: z.string(), inputDiff: z.boolean().optional() }))
    .nullish(),
});

const digestSchema = z.looseObject({
  config: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(stepSchema).optional(),
  diagnostics: z
    .array(z.looseObject({ message: z.string().optional(), severity: z.string().optional() }))
    .optional(),
  duration: z.number().optional(),
  changeSummary: z.record(z.string(), z.number()).optional(),
  maybeCorrupt: z.boolean().optional(),
});

/** Keys of a PreviewDigest; a document with none of them is something else. */
const DIGEST_KEYS = ["steps", "changeSummary", "diagnostics", "config", "duration"];

export function readPreview(text: string): PreviewVerdict {
  if (text.trim() === "") {
    return notJson("the file is empty (did `pulumi preview` fail before writing its JSON?)");
  }
  const parsed = parseJson(text);
  if (!parsed.ok) {
    if (looksLikeEventStream(text)) {
      return notPreview(
        "it is a stream of engine events, one JSON object per line (PULUMI_ENABLE_STREAMING_JSON_PREVIEW " +
          "is set); run `pulumi preview --json` without it to get one preview document",
      );
    }
    return notJson(parsed.reason);
  }
  const doc = parsed.value;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return notPreview(`it is JSON ${Array.isArray(doc) ? "array" : doc === null ? "null" : typeof doc}, not an object`);
  }
  const record = doc as Record<string, unknown>;
  if ("deployment" in record && "version" in record) {
    return notPreview("it looks like `pulumi stack export` output (a state checkpoint), not a preview");
  }
  if (!DIGEST_KEYS.some((key) => key in record)) {
    const message = errorMessageOf(record);
    return notPreview(
      message !== undefined
        ? `it is an error document: ${message}`
        : `it has none of the keys of a preview (${DIGEST_KEYS.join(", ")})`,
    );
  }
  const checked = digestSchema.safeParse(record);
  if (!checked.success) {
    const problem = issueProblems(checked.error)[0];
    return notPreview(`it does not have the shape of a preview at ${problem?.path ?? "(root)"}: ${problem?.message ?? "invalid"}`);
  }
  const digest = checked.data as PreviewDigest;
  const errors = (digest.diagnostics ?? []).filter((d) => d.severity === "error");
  if (errors.length > 0) {
    // One line, so the reason fits a log line and an issue title alike.
    const messages = errors.map((d) => (d.message ?? "").trim().replace(/\s*\n\s*/g, " ")).filter((m) => m !== "");
    return {
      ok: false,
      kind: "preview-failed",
      reason: `the preview failed, so its steps cannot be trusted: ${messages.join(" | ") || "(no message)"}`,
    };
  }
  if ((digest.steps ?? []).length === 0) {
    return notPreview("it has no steps, not even the root stack's, so it describes no stack");
  }
  return { ok: true, digest };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    // A parse failure is the verdict itself (exit 2 with this reason), not an error to hide.
    return { ok: false, reason: `it is not JSON: ${(error as Error).message}` };
  }
}

function looksLikeEventStream(text: string): boolean {
  const firstLine = text.split("\n").find((line) => line.trim() !== "");
  if (firstLine === undefined) return false;
  const parsed = parseJson(firstLine);
  return (
    parsed.ok &&
    typeof parsed.value === "object" &&
    parsed.value !== null &&
    "sequence" in parsed.value &&
    "timestamp" in parsed.value
  );
}

function errorMessageOf(record: Record<string, unknown>): string | undefined {
  const error = record["error"] ?? record["message"];
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message;
  }
  return undefined;
}

function notJson(reason: string): PreviewVerdict {
  return { ok: false, kind: "not-json", reason };
}

function notPreview(reason: string): PreviewVerdict {
  return { ok: false, kind: "not-a-preview", reason };
}

// The completion message contract: what today's processors publish (docs/ARCHITECTURE.md,
// "Compatibility with the existing system"), accepted unchanged, with every field error reported at once so a bad message
// can be quarantined with its full diagnosis. Also the Pub/Sub push envelope decoder. Pure.
import { z } from "zod";
import { issueProblems } from "./zod-issues.ts";
import { COMPLETION_STATUSES } from "./pipeline-types.ts";
import type { TransitionConfig } from "./pipeline-types.ts";
import { resolveProcessorName } from "./processor-names.ts";
import type { ResolvedVia } from "./processor-names.ts";

/** One problem with a message; `code` is machine-readable (zod's issue code or one of ours). */
export interface ContractError {
  path: string;
  message: string;
  code?: string;
}

export type ContractResult<T> = { ok: true; value: T } | { ok: false; errors: ContractError[] };

/** Reports a missing key as `required` rather than zod's generic type message. */
export function contractErrorMap(issue: z.core.$ZodRawIssue): string | undefined {
  const missing = issue.input === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value");
  return missing ? "required" : undefined;
}

/** Zod issues -> contract errors, one per issue (an unknown key names the key). */
export function issuesToErrors(issues: readonly z.core.$ZodIssue[]): ContractError[] {
  return issueProblems(issues).map((p) => ({ ...p, code: p.message === "required" ? "required" : p.code }));
}

/** Python publishers leave null-valued keys out, but older ones do not: treat a top-level null as absent. */
function dropTopLevelNulls(raw: unknown): unknown {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
}

const count = z.number().int().nonnegative();

const NUMERIC_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Some coordinators send the percentage as text ("95"). A numeric string is read as its number; any
 * other string stays a string and fails the number check, so the message is quarantined (and alerted)
 * rather than counted as "no percentage".
 */
function numericText(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  return NUMERIC_TEXT.test(trimmed) ? Number(trimmed) : value;
}

/** `metadata`: free-form with nullable values; the keys we read are typed. */
export const CompletionMetadataSchema = z.looseObject({
  is_incremental: z.boolean().nullish(),
  // 0..100 inclusive: exactly 100 is a complete batch.
  completion_pct: z.preprocess(numericText, z.number().min(0).max(100).nullish()),
  batch_id: z.string().nullish(),
  expected_players: count.nullish(),
  completed_players: count.nullish(),
  completed_predictions: count.nullish(),
  total_predictions: count.nullish(),
});

/** The completion message as published today. Unknown keys are kept (loose). */
export const CompletionMessageSchema = z.preprocess(
  dropTopLevelNulls,
  z.looseObject({
    processor_name: z.string().min(1),
    phase: z.string().min(1),
    execution_id: z.string().min(1),
    correlation_id: z.string().min(1),
    // z.iso.date checks the calendar (2026-02-30 fails, 2024-02-29 passes).
    game_date: z.iso.date(),
    status: z.enum(COMPLETION_STATUSES),
    // Python's isoformat(): offset required ("+00:00" or "Z"); fraction of any precision (it
    // omits microseconds when they are zero).
    timestamp: z.iso.datetime({ offset: true }),
    record_count: count.optional(),
    records_failed: count.optional(),
    duration_seconds: z.number().nonnegative().optional(),
    output_table: z.string().optional(),
    output_dataset: z.string().optional(),
    trigger_source: z.string().optional(),
    error_message: z.string().optional(),
    error_type: z.string().optional(),
    metadata: CompletionMetadataSchema.optional(),
  }),
);

export type CompletionMessage = z.output<typeof CompletionMessageSchema>;

/** Validates a completion message, reporting every field error at once. */
export function parseCompletionMessage(raw: unknown): ContractResult<CompletionMessage> {
  const result = CompletionMessageSchema.safeParse(raw, { error: contractErrorMap });
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: issuesToErrors(result.error.issues) };
}

export interface ResolvedCompletionMessage {
  message: CompletionMessage;
  /** The expected processor name the message counts for. */
  processor: string;
  via: ResolvedVia;
}

/**
 * A completion message for one transition: the contract, plus the phase must be the transition's
 * wire name and the processor must resolve. All errors together, so the runtime can quarantine
 * with the full list.
 */
export function parseCompletionForTransition(
  transition: Pick<TransitionConfig, "phaseWireName" | "processors" | "normaliseClassNames">,
  raw: unknown,
): ContractResult<ResolvedCompletionMessage> {
  const parsed = parseCompletionMessage(raw);
  const errors: ContractError[] = parsed.ok ? [] : [...parsed.errors];
  const fields = (dropTopLevelNulls(raw) ?? {}) as Record<string, unknown>;

  const phase = fields.phase;
  if (typeof phase === "string" && phase !== "" && phase !== transition.phaseWireName) {
    errors.push({ path: "phase", message: `expected "${transition.phaseWireName}", got "${phase}"`, code: "wrong_phase" });
  }

  const name = fields.processor_name;
  let resolved: { processor: string; via: ResolvedVia } | null = null;
  if (typeof name === "string" && name !== "") {
    const table = typeof fields.output_table === "string" ? fields.output_table : undefined;
    const resolution = resolveProcessorName(transition, { processor_name: name, output_table: table });
    if (resolution.expected === null) {
      errors.push({
        path: "processor_name",
        message: `unknown processor "${name}" (tried ${resolution.tried.join(", ")})`,
        code: "unknown_processor",
      });
    } else {
      resolved = { processor: resolution.expected, via: resolution.via };
    }
  }

  if (!parsed.ok || errors.length > 0 || resolved === null) return { ok: false, errors };
  return { ok: true, value: { message: parsed.value, ...resolved } };
}

// ---------------------------------------------------------------------------------------------
// Pub/Sub push envelope

/** Pub/Sub's own limit is 10 MB; completion messages are a few hundred bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;

const PushEnvelopeSchema = z.looseObject({
  message: z.looseObject({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).nullish(),
    messageId: z.string().min(1),
    publishTime: z.string().min(1),
  }),
  subscription: z.string().min(1),
  // Present when the subscription has a dead-letter policy.
  deliveryAttempt: z.number().int().positive().nullish(),
});

export interface DecodedPush {
  /** The parsed JSON body of the message. */
  data: unknown;
  attributes: Record<string, string>;
  messageId: string;
  publishTime: string;
  subscription: string;
  deliveryAttempt: number | null;
  bytes: number;
}

export type DecodeResult =
  | { ok: true; value: DecodedPush }
  | { ok: false; errors: ContractError[]; messageId?: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a push request body `{ message: { data, attributes?, messageId, publishTime }, subscription }`
 * into the message's JSON. Errors: bad_envelope, missing_data, bad_base64, oversize, bad_utf8, bad_json.
 */
export function decodePushEnvelope(body: unknown, options: { maxBytes?: number } = {}): DecodeResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const envelope = PushEnvelopeSchema.safeParse(body, { error: contractErrorMap });
  const messageId = messageIdOf(body);
  const fail = (errors: ContractError[]): DecodeResult => ({ ok: false, errors, ...(messageId ? { messageId } : {}) });
  if (!envelope.success) {
    const errors = issuesToErrors(envelope.error.issues).map((e) => ({ ...e, code: "bad_envelope" }));
    const data = (body as { message?: { data?: unknown } } | null)?.message?.data;
    if (data === undefined || data === "") errors.push({ path: "message.data", message: "no data", code: "missing_data" });
    return fail(errors);
  }
  const { message, subscription, deliveryAttempt } = envelope.data;
  if (message.data === undefined || message.data === "") {
    return fail([{ path: "message.data", message: "no data", code: "missing_data" }]);
  }
  // Checked on the encoded length first so an enormous body is never decoded.
  const decodedLength = Math.floor((message.data.length * 3) / 4) - (message.data.match(/=+$/)?.[0].length ?? 0);
  if (decodedLength > maxBytes) {
    return fail([{ path: "message.data", message: `${decodedLength} bytes exceeds the limit of ${maxBytes}`, code: "oversize" }]);
  }
  if (!BASE64.test(message.data)) {
    return fail([{ path: "message.data", message: "not valid base64", code: "bad_base64" }]);
  }
  const bytes = Buffer.from(message.data, "base64");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    // A fatal TextDecoder throws TypeError on invalid UTF-8: that is the verdict; anything else is a bug.
    if (!(error instanceof TypeError)) throw error;
    return fail([{ path: "message.data", message: "not valid UTF-8", code: "bad_utf8" }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return fail([{ path: "message.data", message: `not valid JSON: ${error.message}`, code: "bad_json" }]);
  }
  return {
    ok: true,
    value: {
      data,
      attributes: message.attributes ?? {},
      messageId: message.messageId,
      publishTime: message.publishTime,
      subscription,
      deliveryAttempt: deliveryAttempt ?? null,
      bytes: bytes.length,
    },
  };
}

function messageIdOf(body: unknown): string | undefined {
  const id = (body as { message?: { messageId?: unknown } } | null)?.message?.messageId;
  return typeof id === "string" && id !== "" ? id : undefined;
}

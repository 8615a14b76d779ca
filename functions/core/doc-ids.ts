// Firestore document ids built from input (processor names, message ids, trigger ids, alert keys).
// Firestore refuses an id that contains "/", is "." or "..", matches __.*__, is empty or is over 1500
// bytes of UTF-8; a "/" is worse than refused: doc("a/b") addresses a sub-collection and throws. One
// mapping for every such id: ids that are already safe stay as they are (readable in the console),
// anything else is percent-escaped, and an id too long even then is cut and suffixed with a digest.
// Pure.
import { createHash } from "node:crypto";

export const MAX_DOC_ID_BYTES = 1500;
/** Room kept for the digest suffix of an over-long id ("%H" + 64 hex digits). */
const HASHED_PREFIX_BYTES = MAX_DOC_ID_BYTES - 100;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const encoder = new TextEncoder();
const utf8Bytes = (s: string) => encoder.encode(s).length;

/** Why Firestore would refuse `id` as a document id, or null when it is valid as it stands. */
export function docIdProblem(id: string): string | null {
  if (id === "") return "empty";
  if (id.includes("/")) return "contains /";
  if (id === "." || id === "..") return "is . or ..";
  if (/^__.*__$/s.test(id)) return "matches __.*__ (reserved)";
  if (LONE_SURROGATE.test(id)) return "not well-formed UTF-16 (lone surrogate)";
  if (utf8Bytes(id) > MAX_DOC_ID_BYTES) return `over ${MAX_DOC_ID_BYTES} bytes`;
  return null;
}

const hex2 = (code: number) => `%${code.toString(16).toUpperCase().padStart(2, "0")}`;

/**
 * Escapes so that every "%" in the result starts an escape: "%" itself, "/", a lone surrogate
 * (%uXXXX), "." and ".." as a whole, and the first "_" of a reserved __.*__ id. Decodable, so
 * distinct inputs give distinct escapes.
 */
function escape(raw: string): string {
  if (raw === "") return "%E";
  if (raw === ".") return "%2E";
  if (raw === "..") return "%2E%2E";
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    const isHigh = c >= 0xd800 && c <= 0xdbff;
    const isLow = c >= 0xdc00 && c <= 0xdfff;
    if (isHigh && i + 1 < raw.length && raw.charCodeAt(i + 1) >= 0xdc00 && raw.charCodeAt(i + 1) <= 0xdfff) {
      out += raw[i]! + raw[i + 1]!;
      i++;
    } else if (isHigh || isLow) out += `%u${c.toString(16).toUpperCase()}`;
    else if (raw[i] === "%" || raw[i] === "/") out += hex2(c);
    else out += raw[i]!;
  }
  return /^__.*__$/s.test(out) ? `%5F${out.slice(1)}` : out;
}

/** The longest prefix of `s` within `maxBytes` of UTF-8 that cuts neither an escape nor a surrogate pair. */
function prefixWithin(s: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const size = utf8Bytes(ch);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  // Never end inside an escape ("%", "%2", "%u12"...): drop a trailing partial one.
  const tail = /%(u[0-9A-F]{0,3}|[0-9A-F]?)$/.exec(s.slice(0, end));
  return s.slice(0, tail === null ? end : end - tail[0].length);
}

/**
 * A valid Firestore document id for any string. Identity when `raw` is valid and holds no "%";
 * otherwise escaped (always containing a "%", so never equal to an identity result); over-long
 * results become a readable prefix plus "%H" and the SHA-256 of `raw`.
 */
export function safeDocId(raw: string): string {
  if (docIdProblem(raw) === null && !raw.includes("%")) return raw;
  const escaped = escape(raw);
  if (utf8Bytes(escaped) <= MAX_DOC_ID_BYTES) return escaped;
  const digest = createHash("sha256").update(raw, "utf8").digest("hex");
  return `${prefixWithin(escaped, HASHED_PREFIX_BYTES)}%H${digest}`;
}


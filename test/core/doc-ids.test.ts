// Document ids from input: any string gives an id Firestore accepts, distinct strings give distinct
// ids, and ids that are already safe stay readable (unchanged).
import assert from "node:assert/strict";
import fc from "fast-check";
import { docIdProblem, MAX_DOC_ID_BYTES, safeDocId } from "../../functions/core/doc-ids.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** Strings rich in the characters that matter: "/", ".", "_", "%", surrogate halves, multi-byte text. */
const tricky = fc.oneof(
  fc.string({ unit: fc.constantFrom("/", ".", "_", "%", "a", "2", "F", "E", "H", "u", "\uD800", "\uDC00", "é", "😀") }),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme", maxLength: 800 }),
  fc.constantFrom("", ".", "..", "__", "___", "__x__", "%", "%2F", "%E", "a/b", "__.__", "/"),
);
/** Strings long enough to need the digest (several thousand bytes). */
const long = fc.string({ unit: fc.constantFrom("a", "/", "%", "é", "😀", "_"), minLength: 1400, maxLength: 3000 });

describe("core/doc-ids: safeDocId", () => {
  it("any string gives a valid Firestore document id", () => {
    fc.assert(
      fc.property(fc.oneof(tricky, long), (raw) => {
        const id = safeDocId(raw);
        assert.equal(docIdProblem(id), null, `${JSON.stringify(raw)} -> ${JSON.stringify(id)}`);
        assert.ok(bytes(id) <= MAX_DOC_ID_BYTES);
      }),
      { numRuns: 2000 },
    );
  });

  it("distinct strings give distinct ids", () => {
    fc.assert(
      fc.property(fc.oneof(tricky, long), fc.oneof(tricky, long), (a, b) => {
        fc.pre(a !== b);
        assert.notEqual(safeDocId(a), safeDocId(b), `${JSON.stringify(a)} and ${JSON.stringify(b)}`);
      }),
      { numRuns: 3000 },
    );
    // Near misses a generator rarely finds.
    const near = ["", "%E", "%25E", ".", "%2E", "..", "%2E%2E", "__a__", "%5F_a__", "_a__", "a/b", "a%2Fb", "a%b", "\uD800", "%uD800", "\uDC00"];
    assert.equal(new Set(near.map(safeDocId)).size, near.length);
    const longA = "x".repeat(2000) + "a";
    const longB = "x".repeat(2000) + "b";
    assert.notEqual(safeDocId(longA), safeDocId(longB), "over-long ids differing only past the cut");
  });

  it("is stable: the same input always gives the same id", () => {
    fc.assert(fc.property(tricky, (raw) => assert.equal(safeDocId(raw), safeDocId(raw))));
  });

  it("leaves ids that are already safe (and hold no %) unchanged", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }), (raw) => {
        fc.pre(docIdProblem(raw) === null && !raw.includes("%"));
        assert.equal(safeDocId(raw), raw);
      }),
    );
    assert.equal(safeDocId("phase2-to-phase3__PlayerGameSummaryProcessor"), "phase2-to-phase3__PlayerGameSummaryProcessor");
    assert.equal(safeDocId("stall__phase2-to-phase3__2026-03-08__daily"), "stall__phase2-to-phase3__2026-03-08__daily");
  });

  it("escapes the characters Firestore refuses, readably", () => {
    assert.equal(safeDocId("phase2-to-phase3__a/b"), "phase2-to-phase3__a%2Fb");
    assert.equal(safeDocId("."), "%2E");
    assert.equal(safeDocId(".."), "%2E%2E");
    assert.equal(safeDocId("__x__"), "%5F_x__");
    assert.equal(safeDocId("50%"), "50%25");
    const hashed = safeDocId("/".repeat(1000));
    assert.match(hashed, /^(%2F)+%H[0-9a-f]{64}$/);
  });

  it("docIdProblem names each rule", () => {
    assert.equal(docIdProblem(""), "empty");
    assert.equal(docIdProblem("a/b"), "contains /");
    assert.equal(docIdProblem(".."), "is . or ..");
    assert.equal(docIdProblem("__a__"), "matches __.*__ (reserved)");
    assert.equal(docIdProblem("x".repeat(1501)), "over 1500 bytes");
    assert.equal(docIdProblem("é".repeat(751)), "over 1500 bytes");
    assert.equal(docIdProblem("a\uD800"), "not well-formed UTF-16 (lone surrogate)");
    assert.equal(docIdProblem("__a_"), null);
  });
});

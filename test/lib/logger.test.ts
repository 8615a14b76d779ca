import assert from "node:assert/strict";
import { LABELS_KEY, SPAN_KEY, TRACE_KEY, captureLogs, createLogger, parseTraceHeaders } from "../../functions/lib/logger.ts";

describe("logger: Cloud Logging structured lines", () => {
  it("writes one JSON object a line with severity, message, time and no pid/hostname", () => {
    const lines: string[] = [];
    const logger = createLogger({ function: "phase2-to-phase3-orchestrator" }, { write: (l) => lines.push(l) }, "debug");
    logger.debug("d");
    logger.info("i", { count: 3 });
    logger.notice("n");
    logger.warning("w");
    logger.error("e");
    logger.critical("c");
    assert.equal(lines.length, 6);
    const parsed = lines.map((l) => {
      assert.ok(l.endsWith("\n"));
      assert.equal(l.trimEnd().includes("\n"), false);
      return JSON.parse(l) as Record<string, unknown>;
    });
    assert.deepEqual(parsed.map((p) => p["severity"]), ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"]);
    assert.deepEqual(parsed.map((p) => p["message"]), ["d", "i", "n", "w", "e", "c"]);
    for (const p of parsed) {
      assert.equal("pid" in p, false);
      assert.equal("hostname" in p, false);
      assert.equal("level" in p, false);
      assert.ok(!Number.isNaN(Date.parse(String(p["time"]))));
      assert.deepEqual(p[LABELS_KEY], { function: "phase2-to-phase3-orchestrator" });
    }
    assert.equal(parsed[1]?.["count"], 3);
  });

  it("filters below the level", () => {
    const lines: string[] = [];
    const logger = createLogger({}, { write: (l) => lines.push(l) }, "warning");
    logger.info("hidden");
    logger.warning("shown");
    assert.equal(lines.length, 1);
  });

  it("child merges labels; undefined labels are dropped; parent unchanged", () => {
    const cap = captureLogs({ function: "f", code_hash: "abc" });
    const child = cap.logger.child({ phase: "phase_2_raw", game_date: "2026-01-15", correlation_id: "c1", code_hash: undefined });
    child.info("x");
    cap.logger.info("y");
    assert.deepEqual(cap.entries[0]?.[LABELS_KEY], { function: "f", code_hash: "abc", phase: "phase_2_raw", game_date: "2026-01-15", correlation_id: "c1" });
    assert.deepEqual(cap.entries[1]?.[LABELS_KEY], { function: "f", code_hash: "abc" });
  });

  it("serializes an error field with name, message, stack and code", () => {
    const cap = captureLogs();
    const err = Object.assign(new Error("boom"), { code: 14 });
    cap.logger.error("failed", { error: err });
    const entry = cap.find("ERROR", "failed")[0];
    assert.ok(entry);
    const e = entry["error"] as Record<string, unknown>;
    assert.equal(e["name"], "Error");
    assert.equal(e["message"], "boom");
    assert.equal(e["code"], 14);
    assert.match(String(e["stack"]), /Error: boom/);
    assert.equal(entry["stack_trace"], e["stack"]);
  });

  it("adds the trace from traceparent or x-cloud-trace-context when the project is known", () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const w3c = parseTraceHeaders({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.deepEqual(w3c, { traceId, spanId: "00f067aa0ba902b7", sampled: true });
    const legacy = parseTraceHeaders({ "x-cloud-trace-context": `${traceId}/255;o=0` });
    assert.deepEqual(legacy, { traceId, spanId: "00000000000000ff", sampled: false });
    assert.equal(parseTraceHeaders({}), undefined);
    assert.equal(parseTraceHeaders({ traceparent: "garbage" }), undefined);

    const cap = captureLogs();
    cap.logger.withTrace(w3c, "my-project").info("traced");
    cap.logger.withTrace(w3c, undefined).info("no project");
    assert.equal(cap.entries[0]?.[TRACE_KEY], `projects/my-project/traces/${traceId}`);
    assert.equal(cap.entries[0]?.[SPAN_KEY], "00f067aa0ba902b7");
    assert.equal(TRACE_KEY in (cap.entries[1] ?? {}), false);
  });
});

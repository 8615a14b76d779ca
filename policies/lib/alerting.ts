// Reading alert policies: the text of their conditions, whether a condition is about 5xx responses,
// and which services it is scoped to. Pure over property values.
import { at, elementsOf, stringAt } from "./props.ts";
import type { Unknown } from "./props.ts";

/** The filter or query text of a condition: UNKNOWN while computed (preview), undefined if it has none. */
export function conditionText(condition: unknown): string | Unknown | undefined {
  for (const path of [
    ["conditionThreshold", "filter"],
    ["conditionAbsent", "filter"],
    ["conditionMonitoringQueryLanguage", "query"],
    ["conditionPrometheusQueryLanguage", "query"],
    ["conditionMatchedLog", "filter"],
    ["conditionSql", "query"],
  ]) {
    const text = stringAt(condition, ...path);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** Whether a condition's text counts server errors: a 5xx response class or 5xx response codes. */
export function counts5xx(text: string): boolean {
  return (
    /response_code_class\s*(=|=~|:)\s*"?5xx/i.test(text) ||
    /response_code\s*(=~|=|:)\s*"?\^?5/i.test(text) ||
    /response_code\s*>=?\s*"?(499|500)/i.test(text) ||
    /\bstatus(_code)?\s*(=~|=|>=?)\s*"?\^?5\d\d/i.test(text) ||
    /\b5xx\b/i.test(text)
  );
}

/**
 * The service or function names a condition is scoped to, or undefined when it is not scoped (a
 * project-wide condition covers every service).
 */
export function scopedServices(text: string): string[] | undefined {
  const names: string[] = [];
  for (const m of text.matchAll(/\b(service_name|function_name|configuration_name)\s*=\s*"([^"]+)"/g)) names.push(m[2]!);
  for (const m of text.matchAll(/\b(service_name|function_name)\s*=\s*one_of\(([^)]*)\)/g)) {
    for (const q of m[2]!.matchAll(/"([^"]+)"/g)) names.push(q[1]!);
  }
  for (const m of text.matchAll(/\b(service_name|function_name)\s*=~\s*"([^"]+)"/g)) names.push(`~${m[2]!}`);
  return names.length === 0 ? undefined : names;
}

/** Whether a scoped name list covers a service name (regex entries are prefixed with "~"). */
export function scopeCovers(scope: readonly string[] | undefined, service: string): boolean {
  if (scope === undefined) return true;
  return scope.some((s) => (s.startsWith("~") ? safeFullMatch(s.slice(1), service) : s === service));
}

function safeFullMatch(pattern: string, value: string): boolean {
  // A monitoring filter regex that is not a valid JS regex cannot be evaluated here; it does not cover.
  if (!isValidRegex(pattern)) return false;
  return new RegExp(`^(?:${pattern})$`).test(value);
}

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch (error) {
    if (error instanceof SyntaxError) return false;
    throw error;
  }
}

/** The conditions of an alert policy (elements may be UNKNOWN during a preview). */
export function conditionsOf(props: unknown): unknown[] {
  return elementsOf(at(props, "conditions"));
}

/** Whether an alert policy is switched off. */
export function isDisabled(props: unknown): boolean {
  const enabled = at(props, "enabled");
  return enabled === false || enabled === "false";
}


/** Whether a condition's text watches uptime check results for this check id (or for every check). */
export function watchesUptimeCheck(text: string, checkId: string | undefined): boolean {
  if (!/uptime_check\//.test(text)) return false;
  const ids = [...text.matchAll(/check_id\s*=\s*"([^"]+)"/g)].map((m) => m[1]);
  return ids.length === 0 || (checkId !== undefined && ids.includes(checkId));
}

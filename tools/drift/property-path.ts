// Pulumi property paths as they appear in `detailedDiff` keys: `a.b["c-d"][0].e`
// (resource.PropertyPath.String: identifiers joined by dots, other keys as ["..."] with
// JSON-style escapes, array indices as [n]). Parsing them lets us match a changed property
// against the code-hash properties whatever quoting Pulumi chose.

export type PathSegment = string | number;

export function parsePropertyPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const ch = path[i];
    if (ch === ".") {
      i++;
      continue;
    }
    if (ch === "[") {
      const close = findClosingBracket(path, i);
      if (close < 0) {
        // Not a path Pulumi writes; keep the rest as one opaque key rather than guessing.
        segments.push(path.slice(i));
        break;
      }
      const inner = path.slice(i + 1, close);
      segments.push(inner.startsWith('"') ? (JSON.parse(inner) as string) : Number(inner));
      i = close + 1;
      continue;
    }
    let end = i;
    while (end < path.length && path[end] !== "." && path[end] !== "[") end++;
    segments.push(path.slice(i, end));
    i = end;
  }
  return segments;
}

function findClosingBracket(path: string, open: number): number {
  let inString = false;
  for (let j = open + 1; j < path.length; j++) {
    const c = path[j];
    if (inString && c === "\\") {
      j++;
    } else if (c === '"') {
      inString = !inString;
    } else if (c === "]" && !inString) {
      return j;
    }
  }
  return -1;
}

/** True when `path` starts with every segment of `prefix`. */
export function pathStartsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

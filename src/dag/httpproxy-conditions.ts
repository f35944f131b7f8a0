// HTTPProxy match conditions (prefix/exact/regex, header, queryParameter): Contour's validity rules
// and how conditions concatenate down an include chain into one route match.
import type { HeaderMatch, PathMatch, QueryParamMatch } from "./types.ts";
import type { MatchConditionSpec } from "./crd-types.ts";
import { quote } from "./httpproxy-spec.ts";
import { pathLengthProblem, quoteBounded } from "./limits.ts";

export type CheckRegex = (regex: string) => string | undefined;

/** Contour's pathMatchConditionsValid: at most one of prefix/exact/regex, each starting with `/`. */
export function pathConditionsProblem(conds: MatchConditionSpec[], checkRegex: CheckRegex): string | undefined {
  let count = 0;
  for (const cond of conds) {
    const prefix = cond.prefix ?? "";
    const exact = cond.exact ?? "";
    const regex = cond.regex ?? "";
    for (const [kind, value] of [["prefix", prefix], ["exact", exact], ["regex", regex]] as const) {
      const tooLong = pathLengthProblem(value);
      if (tooLong) return `${kind} condition ${quoteBounded(value)} is ${tooLong}`;
    }
    if (prefix !== "") {
      count++;
      if (prefix[0] !== "/") return `prefix conditions must start with /, ${prefix} was supplied`;
    }
    if (exact !== "") {
      count++;
      if (exact[0] !== "/") return `exact conditions must start with /, ${exact} was supplied`;
    }
    if (regex !== "") {
      count++;
      if (regex[0] !== "/") return `regex conditions must start with /, ${regex} was supplied`;
      const problem = checkRegex(regex);
      if (problem !== undefined) return `supplied regex: ${regex} invalid. error: ${problem}`;
    }
  }
  return count > 1 ? "more than one prefix, exact or regex is not allowed in a condition block" : undefined;
}

/**
 * A condition entry that matches on nothing (`{}`, or only empty strings) is refused: it is what a
 * misspelled `prefx: /api` becomes once pruned, and it would make the route a catch-all.
 */
export function emptyConditionProblem(conds: MatchConditionSpec[], include: boolean): string | undefined {
  const empty = conds.some((cond) => (["prefix", "exact", "regex"] as const).every((f) => (cond[f] ?? "") === "") && !cond.header && !cond.queryParameter);
  if (!empty) return undefined;
  return include ? "condition must have prefix, header, or queryParameter" : "condition must have prefix, exact, regex, header, or queryParameter";
}

/** Includes may only carry prefix (and header/queryParameter) conditions. */
export function includeConditionsProblem(conds: MatchConditionSpec[]): string | undefined {
  for (const cond of conds) {
    if ((cond.exact ?? "") !== "") return "exact conditions are not allowed in includes block";
    if ((cond.regex ?? "") !== "") return "regex conditions are not allowed in includes block";
  }
  return undefined;
}

/** Contour's headerMatchConditionsValid over the merged conditions of a route. */
export function headerConditionsProblem(conds: MatchConditionSpec[], checkRegex: CheckRegex): string | undefined {
  const seen = new Set<string>();
  const exactNames = new Set<string>();
  // Length-prefixed name, a kind without spaces, the value last: equal keys, equal triples.
  const key = (name: string, kind: string, value = ""): string => `${name.length} ${name} ${kind} ${value}`;
  for (const cond of conds) {
    const header = cond.header;
    if (!header) continue;
    if (!usableName(header.name ?? "")) return `invalid header name ${quote(header.name ?? "")}: it must be non-empty, without NUL, CR or LF`;
    const name = (header.name ?? "").toLowerCase();
    const exact = header.exact ?? "";
    const notexact = header.notexact ?? "";
    const contains = header.contains ?? "";
    const notcontains = header.notcontains ?? "";
    const regex = header.regex ?? "";
    if (header.present === true) {
      if (seen.has(key(name, "notpresent"))) return "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header";
      seen.add(key(name, "present"));
    } else if (header.notpresent === true) {
      if (seen.has(key(name, "present"))) return "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header";
      seen.add(key(name, "notpresent"));
    } else if (exact !== "") {
      if (exactNames.has(name)) return "cannot specify duplicate header 'exact match' conditions in the same route";
      exactNames.add(name);
      if (seen.has(key(name, "notexact", exact))) return "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header";
      seen.add(key(name, "exact", exact));
    } else if (notexact !== "") {
      if (seen.has(key(name, "exact", notexact))) return "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header";
      seen.add(key(name, "notexact", notexact));
    } else if (contains !== "") {
      if (seen.has(key(name, "notcontains", contains))) return "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header";
      seen.add(key(name, "contains", contains));
    } else if (notcontains !== "") {
      if (seen.has(key(name, "contains", notcontains))) return "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header";
      seen.add(key(name, "notcontains", notcontains));
    } else if (regex !== "") {
      if (checkRegex(regex) !== undefined) return "invalid regular expression specified for 'regex' condition";
    }
  }
  return undefined;
}

/** A header or query parameter name Envoy accepts in a matcher (Contour's CRD already requires one). */
function usableName(name: string): boolean {
  return name !== "" && !/[\0\r\n]/.test(name);
}

/** Contour's queryParameterMatchConditionsValid. */
export function queryConditionsProblem(conds: MatchConditionSpec[], checkRegex: CheckRegex): string | undefined {
  const exactNames = new Set<string>();
  for (const cond of conds) {
    const query = cond.queryParameter;
    if (!query) continue;
    if (!usableName(query.name ?? "")) return `invalid query parameter name ${quote(query.name ?? "")}: it must be non-empty, without NUL, CR or LF`;
    const set: string[] = (["exact", "prefix", "suffix", "regex", "contains"] as const).filter((f) => (query[f] ?? "") !== "");
    if (query.present === true) set.push("present");
    if (set.length === 0) return "must specify at least one query parameter condition";
    if (set.length > 1) return "cannot specify more than one condition in the same match condition branch";
    const name = (query.name ?? "").toLowerCase();
    if ((query.exact ?? "") !== "") {
      if (exactNames.has(name)) return "cannot specify duplicate query parameter 'exact match' conditions in the same route";
      exactNames.add(name);
    }
    if ((query.regex ?? "") !== "" && checkRegex(query.regex ?? "") !== undefined) {
      return "invalid regular expression specified for 'regex' condition";
    }
  }
  return undefined;
}

/**
 * Concatenates the path conditions of a chain (include prefixes, then the route's own) into one
 * match, as Contour's mergePathMatchConditions: any regex makes it a regex, else the last
 * condition decides prefix or exact; repeated slashes collapse; nothing at all is prefix `/`.
 */
export function mergePath(conds: MatchConditionSpec[]): PathMatch {
  let merged = "";
  let isRegex = false;
  let last: "prefix" | "exact" | "regex" | undefined;
  for (const cond of conds) {
    const prefix = cond.prefix ?? "";
    const exact = cond.exact ?? "";
    const regex = cond.regex ?? "";
    if (prefix !== "") {
      merged += prefix;
    } else if (exact !== "") {
      merged += exact;
    } else if (regex !== "") {
      merged += regex;
      isRegex = true;
    }
    last = prefix !== "" ? "prefix" : exact !== "" ? "exact" : regex !== "" ? "regex" : undefined;
  }
  merged = merged.replace(/\/\/+/g, "/");
  if (merged === "" || conds.length === 0) return { kind: "prefix", value: "/", segment: false };
  if (isRegex) return { kind: "regex", value: merged };
  if (last === "exact") return { kind: "exact", value: merged };
  return { kind: "prefix", value: merged, segment: false };
}

export function mergeHeaders(conds: MatchConditionSpec[]): HeaderMatch[] {
  const out: HeaderMatch[] = [];
  for (const cond of conds) {
    const h = cond.header;
    if (!h) continue;
    const name = h.name ?? "";
    const ignoreCase = h.ignoreCase || undefined;
    const treatMissingAsEmpty = h.treatMissingAsEmpty || undefined;
    if (h.present === true) out.push({ name, match: { kind: "present" } });
    else if (h.notpresent === true) out.push({ name, match: { kind: "notpresent" } });
    else if ((h.contains ?? "") !== "") out.push({ name, match: { kind: "contains", value: h.contains ?? "", ignoreCase } });
    else if ((h.notcontains ?? "") !== "") {
      out.push({ name, match: { kind: "contains", value: h.notcontains ?? "", ignoreCase }, invert: true, treatMissingAsEmpty });
    } else if ((h.exact ?? "") !== "") out.push({ name, match: { kind: "exact", value: h.exact ?? "", ignoreCase } });
    else if ((h.notexact ?? "") !== "") {
      out.push({ name, match: { kind: "exact", value: h.notexact ?? "", ignoreCase }, invert: true, treatMissingAsEmpty });
    } else if ((h.regex ?? "") !== "") out.push({ name, match: { kind: "regex", value: h.regex ?? "" } });
  }
  return out.map(stripUndefined);
}

export function mergeQueryParams(conds: MatchConditionSpec[]): QueryParamMatch[] {
  const out: QueryParamMatch[] = [];
  for (const cond of conds) {
    const q = cond.queryParameter;
    if (!q) continue;
    const name = q.name ?? "";
    const ignoreCase = q.ignoreCase || undefined;
    if ((q.exact ?? "") !== "") out.push({ name, match: stripUndefined({ kind: "exact", value: q.exact ?? "", ignoreCase }) });
    else if ((q.prefix ?? "") !== "") out.push({ name, match: stripUndefined({ kind: "prefix", value: q.prefix ?? "", ignoreCase }) });
    else if ((q.suffix ?? "") !== "") out.push({ name, match: stripUndefined({ kind: "suffix", value: q.suffix ?? "", ignoreCase }) });
    else if ((q.regex ?? "") !== "") out.push({ name, match: { kind: "regex", value: q.regex ?? "" } });
    else if ((q.contains ?? "") !== "") out.push({ name, match: stripUndefined({ kind: "contains", value: q.contains ?? "", ignoreCase }) });
    else if (q.present === true) out.push({ name, match: { kind: "present" } });
  }
  return out;
}

/**
 * The identity of an include's conditions for duplicate detection, or undefined for the lone `/`
 * (or empty) condition set, which Contour never counts as a duplicate.
 */
export function includeConditionsKey(conds: MatchConditionSpec[]): string | undefined {
  const path = mergePath(conds);
  const headers = mergeHeaders(conds).map((h) => JSON.stringify(h)).sort();
  const queries = mergeQueryParams(conds).map((q) => JSON.stringify(q)).sort();
  if (path.value === "/" && headers.length === 0 && queries.length === 0) return undefined;
  return JSON.stringify([path.value, headers, queries]);
}

function stripUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) {
    if (value[key] === undefined) delete value[key];
    else if (typeof value[key] === "object" && value[key] !== null) stripUndefined(value[key] as object);
  }
  return value;
}

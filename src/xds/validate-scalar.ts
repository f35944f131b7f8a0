// Compiles the protoc-gen-validate rules of one value (string, bytes, number, bool, enum, duration,
// Any type URL) into a closure, once per field, so that checking a value reads no options. The
// semantics are PGV's (validate/validate.proto): ranges, exclusive ranges, in/not_in, well-known
// header regexes with `strict`, `ignore_empty`. A rule we do not implement throws when compiled, so
// a new rule in the vendored protos fails the tests instead of being skipped.
import type protobuf from "protobufjs";
import { re2Matches } from "../base/regex.ts";
import { integerRanges, parseDuration } from "./registry.ts";
import type { RuleObject, RuleValue } from "./validate-rules-extract.ts";

export interface ValidationError {
  /** Where in the resource, e.g. `virtual_hosts[0].routes[2].match.safe_regex.regex`; "" is the resource. */
  path: string;
  /** The rule that failed, as written in the proto: `string.min_len`, `message.required`, `re2` … */
  rule: string;
  message: string;
}

/** Checks one present value, appending what fails (paths relative to the value) to `errors`. */
export type Check = (value: unknown, errors: ValidationError[]) => void;

export function fail(errors: ValidationError[], rule: string, message: string): void {
  errors.push({ path: "", rule, message });
}

function unsupported(kind: string, key: string): never {
  throw new Error(`validate rule ${kind}.${key} is not supported by the validator`);
}

function onlyKeys(kind: string, rules: RuleObject, known: readonly string[]): void {
  for (const key of Object.keys(rules)) if (!known.includes(key)) unsupported(kind, key);
}

const asList = (value: RuleValue | undefined): RuleValue[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Shows a value in a message; sensitive fields (keys, tokens) are never shown. */
export function show(value: unknown, sensitive: boolean): string {
  if (sensitive) return "the value";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

// ---- numbers -------------------------------------------------------------------------------------

const numericKinds = new Set(["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"]);

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") return Number(value);
  if (typeof value === "bigint") return Number(value);
  if (value !== null && typeof value === "object" && "toNumber" in value) return (value as { toNumber(): number }).toNumber();
  return Number.NaN;
}

function compileNumeric(kind: string, rules: RuleObject, sensitive: boolean): Check {
  onlyKeys(kind, rules, ["const", "lt", "lte", "gt", "gte", "in", "not_in", "ignore_empty"]);
  const { const: exact, lt, lte, gt, gte, ignore_empty: ignoreEmpty } = rules as Record<string, number | boolean | undefined>;
  const allowed = rules.in === undefined ? undefined : asList(rules.in).map(toNumber);
  const forbidden = rules.not_in === undefined ? undefined : asList(rules.not_in).map(toNumber);
  const upper = (lt ?? lte) as number | undefined;
  const lower = (gt ?? gte) as number | undefined;
  // PGV: with both bounds and lower > upper, the range is exclusive: the value must lie outside it.
  const exclusive = upper !== undefined && lower !== undefined && lower > upper;
  return (value, errors) => {
    const n = toNumber(value);
    if (Number.isNaN(n) && typeof value !== "number") return fail(errors, `${kind}.type`, `expected a number, got ${show(value, sensitive)}`);
    if (ignoreEmpty && n === 0) return;
    if (exact !== undefined && n !== exact) fail(errors, `${kind}.const`, `must equal ${exact}, got ${show(n, sensitive)}`);
    const lowerOk = gt !== undefined ? n > (gt as number) : gte !== undefined ? n >= (gte as number) : true;
    const upperOk = lt !== undefined ? n < (lt as number) : lte !== undefined ? n <= (lte as number) : true;
    if (exclusive) {
      if (!lowerOk && !upperOk) {
        fail(errors, `${kind}.${gt !== undefined ? "gt" : "gte"}`, `must be ${lt !== undefined ? "less than" : "at most"} ${upper} or ${gt !== undefined ? "greater than" : "at least"} ${lower}, got ${show(n, sensitive)}`);
      }
    } else {
      if (!lowerOk) fail(errors, `${kind}.${gt !== undefined ? "gt" : "gte"}`, `must be ${gt !== undefined ? "greater than" : "at least"} ${lower}, got ${show(n, sensitive)}`);
      if (!upperOk) fail(errors, `${kind}.${lt !== undefined ? "lt" : "lte"}`, `must be ${lt !== undefined ? "less than" : "at most"} ${upper}, got ${show(n, sensitive)}`);
    }
    if (allowed && !allowed.includes(n)) fail(errors, `${kind}.in`, `must be one of ${allowed.join(", ")}, got ${show(n, sensitive)}`);
    if (forbidden?.includes(n)) fail(errors, `${kind}.not_in`, `must not be ${show(n, sensitive)}`);
  };
}

// ---- strings -------------------------------------------------------------------------------------

// protoc-gen-validate's well-known regexes (identical in its Go, C++ and Java generators). The
// strict header name class is PGV's `+-.`, a range that also admits ",".
const headerName = /^:?[0-9a-zA-Z!#$%&'*+,\-.^_|~`]+$/;
const headerValue = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const headerLoose = /^[^\u0000\u000A\u000D]*$/;

function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) i++;
    count++;
  }
  return count;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function compileString(rules: RuleObject, sensitive: boolean): Check {
  onlyKeys("string", rules, ["const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes", "pattern", "prefix", "suffix", "contains", "not_contains", "in", "not_in", "well_known_regex", "strict", "ignore_empty"]);
  const r = rules as Record<string, string | number | boolean | undefined>;
  const checks: Array<(text: string, errors: ValidationError[]) => void> = [];
  const shown = (text: string) => show(text, sensitive);
  if (r.const !== undefined) checks.push((t, e) => t !== r.const && fail(e, "string.const", `must equal ${JSON.stringify(r.const)}, got ${shown(t)}`));
  if (r.len !== undefined) checks.push((t, e) => codePoints(t) !== r.len && fail(e, "string.len", `must be exactly ${r.len} characters long, got ${codePoints(t)}`));
  const minLen = r.min_len as number | undefined;
  if (minLen !== undefined) {
    checks.push((t, e) => {
      if (t.length < minLen || (t.length < 2 * minLen && codePoints(t) < minLen)) {
        fail(e, "string.min_len", minLen === 1 ? "must not be empty" : `must be at least ${minLen} characters long, got ${codePoints(t)}`);
      }
    });
  }
  const maxLen = r.max_len as number | undefined;
  if (maxLen !== undefined) checks.push((t, e) => t.length > maxLen && codePoints(t) > maxLen && fail(e, "string.max_len", `must be at most ${maxLen} characters long, got ${codePoints(t)}`));
  if (r.len_bytes !== undefined) checks.push((t, e) => utf8Length(t) !== r.len_bytes && fail(e, "string.len_bytes", `must be exactly ${r.len_bytes} bytes long, got ${utf8Length(t)}`));
  const minBytes = r.min_bytes as number | undefined;
  if (minBytes !== undefined) checks.push((t, e) => utf8Length(t) < minBytes && fail(e, "string.min_bytes", `must be at least ${minBytes} bytes long, got ${utf8Length(t)}`));
  const maxBytes = r.max_bytes as number | undefined;
  if (maxBytes !== undefined) checks.push((t, e) => t.length * 3 > maxBytes && utf8Length(t) > maxBytes && fail(e, "string.max_bytes", `must be at most ${maxBytes} bytes long, got ${utf8Length(t)}`));
  const pattern = r.pattern as string | undefined;
  if (pattern !== undefined) {
    const matches = patternMatcher(pattern);
    checks.push((t, e) => !matches(t) && fail(e, "string.pattern", `${shown(t)} does not match the pattern ${JSON.stringify(pattern)}`));
  }
  if (r.prefix !== undefined) checks.push((t, e) => !t.startsWith(r.prefix as string) && fail(e, "string.prefix", `must start with ${JSON.stringify(r.prefix)}, got ${shown(t)}`));
  if (r.suffix !== undefined) checks.push((t, e) => !t.endsWith(r.suffix as string) && fail(e, "string.suffix", `must end with ${JSON.stringify(r.suffix)}, got ${shown(t)}`));
  if (r.contains !== undefined) checks.push((t, e) => !t.includes(r.contains as string) && fail(e, "string.contains", `must contain ${JSON.stringify(r.contains)}, got ${shown(t)}`));
  if (r.not_contains !== undefined) checks.push((t, e) => t.includes(r.not_contains as string) && fail(e, "string.not_contains", `must not contain ${JSON.stringify(r.not_contains)}, got ${shown(t)}`));
  if (rules.in !== undefined) {
    const allowed = asList(rules.in) as string[];
    checks.push((t, e) => !allowed.includes(t) && fail(e, "string.in", `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${shown(t)}`));
  }
  if (rules.not_in !== undefined) {
    const forbidden = asList(rules.not_in) as string[];
    checks.push((t, e) => forbidden.includes(t) && fail(e, "string.not_in", `must not be ${shown(t)}`));
  }
  if (r.well_known_regex !== undefined) {
    const strict = r.strict !== false;
    const kind = r.well_known_regex;
    if (kind !== "HTTP_HEADER_NAME" && kind !== "HTTP_HEADER_VALUE") unsupported("string.well_known_regex", String(kind));
    const regex = !strict ? headerLoose : kind === "HTTP_HEADER_NAME" ? headerName : headerValue;
    const what = kind === "HTTP_HEADER_NAME" ? "HTTP header name" : "HTTP header value";
    const why = !strict ? " (no NUL, CR or LF)" : kind === "HTTP_HEADER_NAME" ? " (RFC 7230 token characters)" : " (no control characters)";
    checks.push((t, e) => !regex.test(t) && fail(e, "string.well_known_regex", `${shown(t)} is not a valid ${what}${why}`));
  }
  const ignoreEmpty = r.ignore_empty === true;
  return (value, errors) => {
    if (typeof value !== "string") return fail(errors, "string.type", `expected a string, got ${show(value, sensitive)}`);
    if (ignoreEmpty && value === "") return;
    for (const check of checks) check(value, errors);
  };
}

// Anchored sequences of character classes of plain characters (all of Envoy's string.pattern rules
// today, e.g. path_separated_prefix's `^[^?#]+[^?#/]$`) mean the same to a JS RegExp with the `u`
// flag as to RE2 (`$` is the end of the text in both); those run natively, anything else in RE2.
const classOnlyPattern = /^\^(?:\[\^?(?:[0-9A-Za-z_~:?#/-]|\\[-./])+\]\+?)+\$$/;

/** Whether a string matches `pattern` somewhere, with RE2 semantics. */
export function patternMatcher(pattern: string): (text: string) => boolean {
  if (classOnlyPattern.test(pattern)) {
    const regex = new RegExp(pattern, "u");
    return (text) => regex.test(text);
  }
  return (text) => re2Matches(pattern, text);
}

// ---- bytes, bools --------------------------------------------------------------------------------

function byteLength(value: unknown): number {
  if (value instanceof Uint8Array) return value.length;
  if (typeof value !== "string") return Number.NaN;
  const padding = value.endsWith("==") ? 2 : value.endsWith("=") ? 1 : 0;
  return Math.floor((value.length * 3) / 4) - padding;
}

function compileBytes(rules: RuleObject): Check {
  onlyKeys("bytes", rules, ["len", "min_len", "max_len", "ignore_empty"]);
  const { len, min_len: minLen, max_len: maxLen, ignore_empty: ignoreEmpty } = rules as Record<string, number | boolean | undefined>;
  return (value, errors) => {
    const n = byteLength(value);
    if (Number.isNaN(n)) return fail(errors, "bytes.type", "expected base64 bytes");
    if (ignoreEmpty && n === 0) return;
    if (len !== undefined && n !== len) fail(errors, "bytes.len", `must be exactly ${len} bytes long, got ${n}`);
    if (minLen !== undefined && n < (minLen as number)) fail(errors, "bytes.min_len", `must be at least ${minLen} bytes long, got ${n}`);
    if (maxLen !== undefined && n > (maxLen as number)) fail(errors, "bytes.max_len", `must be at most ${maxLen} bytes long, got ${n}`);
  };
}

function compileBool(rules: RuleObject): Check {
  onlyKeys("bool", rules, ["const"]);
  const exact = rules.const;
  return (value, errors) => {
    if (typeof value !== "boolean") return fail(errors, "bool.type", `expected true or false, got ${show(value, false)}`);
    if (exact !== undefined && value !== exact) fail(errors, "bool.const", `must be ${exact}`);
  };
}

/**
 * The check of one scalar value of proto type `kind` (`string`, `uint32`, `bool` …) under the PGV
 * rules for that kind; undefined when there is nothing to check.
 */
export function compileScalar(kind: string, rules: RuleObject | undefined, options: { sensitive?: boolean } = {}): Check | undefined {
  const typed = compileType(kind, options.sensitive === true);
  const ruled = rules ? compileRules(kind, rules, options.sensitive === true) : undefined;
  if (!typed || !ruled) return typed ?? ruled;
  return (value, errors) => {
    const before = errors.length;
    typed(value, errors);
    if (errors.length === before) ruled(value, errors);
  };
}

function compileRules(kind: string, rules: RuleObject, sensitive: boolean): Check {
  if (kind === "string") return compileString(rules, sensitive);
  if (kind === "bytes") return compileBytes(rules);
  if (kind === "bool") return compileBool(rules);
  if (numericKinds.has(kind)) return compileNumeric(kind, rules, sensitive);
  return unsupported(kind, Object.keys(rules)[0] ?? "");
}


/**
 * Whatever the rules, a value must be of its field's type and an integer must fit it: encoding
 * would otherwise wrap 2^32 to 0 (a retry count of 0, a rate limit of 0 tokens) without a word.
 */
function compileType(kind: string, sensitive: boolean): Check | undefined {
  const range = integerRanges[kind];
  if (range) {
    return (value, errors) => {
      const n = toNumber(value);
      if (!Number.isInteger(n) || n < range[0] || n > range[1]) fail(errors, `${kind}.type`, `expected a whole number from ${range[0]} to ${range[1]}, got ${show(value, sensitive)}`);
    };
  }
  if (kind === "double" || kind === "float") {
    return (value, errors) => {
      if (typeof value !== "number") fail(errors, `${kind}.type`, `expected a number, got ${show(value, sensitive)}`);
    };
  }
  return undefined;
}

// ---- enums ---------------------------------------------------------------------------------------

/** Checks an enum given by name or number: always that a name exists, then PGV's enum rules. */
export function compileEnum(enumType: protobuf.Enum, rules: RuleObject | undefined): Check {
  if (rules) onlyKeys("enum", rules, ["const", "defined_only", "in", "not_in"]);
  const values = enumType.values;
  const defined = new Set(Object.values(values));
  const typeName = enumType.fullName.slice(1);
  const definedOnly = rules?.defined_only === true;
  const exact = rules?.const as number | undefined;
  const allowed = rules?.in === undefined ? undefined : asList(rules.in).map(toNumber);
  const forbidden = rules?.not_in === undefined ? undefined : asList(rules.not_in).map(toNumber);
  const nameOf = (n: number) => Object.keys(values).find((k) => values[k] === n) ?? String(n);
  return (value, errors) => {
    let n: number;
    if (typeof value === "string") {
      const known = Object.hasOwn(values, value) ? values[value] : undefined;
      if (known === undefined) return fail(errors, "enum.defined_only", `${JSON.stringify(value)} is not a value of ${typeName}`);
      n = known;
    } else if (typeof value === "number" && Number.isInteger(value)) n = value;
    else return fail(errors, "enum.type", `expected a name of ${typeName}, got ${show(value, false)}`);
    if (definedOnly && !defined.has(n)) fail(errors, "enum.defined_only", `${n} is not a value of ${typeName}`);
    if (exact !== undefined && n !== exact) fail(errors, "enum.const", `must be ${nameOf(exact)}`);
    if (allowed && !allowed.includes(n)) fail(errors, "enum.in", `must be one of ${allowed.map(nameOf).join(", ")}, got ${nameOf(n)}`);
    if (forbidden?.includes(n)) fail(errors, "enum.not_in", `must not be ${nameOf(n)}`);
  };
}

// ---- durations, Any ------------------------------------------------------------------------------

interface Span {
  seconds: number;
  nanos: number;
}

// Translators write the same few durations ("2s", "15s") thousands of times: parse each once.
const parsedDurations = new Map<string, Span | undefined>();

function toSpan(value: unknown): Span | undefined {
  if (typeof value === "string") {
    if (parsedDurations.has(value)) return parsedDurations.get(value);
    let span: Span | undefined;
    try {
      span = parseDuration(value);
    } catch {
      span = undefined;
    }
    if (parsedDurations.size >= 10_000) parsedDurations.clear();
    parsedDurations.set(value, span);
    return span;
  }
  if (value !== null && typeof value === "object") {
    const { seconds = 0, nanos = 0 } = value as { seconds?: unknown; nanos?: unknown };
    const s = toNumber(seconds);
    const n = toNumber(nanos);
    return Number.isNaN(s) || Number.isNaN(n) ? undefined : { seconds: s, nanos: n };
  }
  return undefined;
}

const compareSpans = (a: Span, b: Span): number => a.seconds - b.seconds || a.nanos - b.nanos;
const spanText = (s: Span): string => `${Number((s.seconds + s.nanos / 1e9).toFixed(9))}s`;

/** Checks a Duration ("1.5s" or {seconds, nanos}) against PGV's duration rules (required is the caller's). */
export function compileDuration(rules: RuleObject | undefined): Check {
  if (rules) onlyKeys("duration", rules, ["required", "const", "lt", "lte", "gt", "gte", "in", "not_in"]);
  const bound = (key: string): Span | undefined => (rules?.[key] === undefined ? undefined : toSpan(rules[key]));
  const [exact, lt, lte, gt, gte] = ["const", "lt", "lte", "gt", "gte"].map(bound);
  const allowed = rules?.in === undefined ? undefined : asList(rules.in).map((v) => toSpan(v)!);
  const forbidden = rules?.not_in === undefined ? undefined : asList(rules.not_in).map((v) => toSpan(v)!);
  const upper = lt ?? lte;
  const lower = gt ?? gte;
  const exclusive = upper !== undefined && lower !== undefined && compareSpans(lower, upper) > 0;
  return (value, errors) => {
    const span = toSpan(value);
    if (!span) return fail(errors, "duration.type", `expected a duration like "1.5s", got ${show(value, false)}`);
    const got = () => `, got ${spanText(span)}`;
    if (exact && compareSpans(span, exact) !== 0) fail(errors, "duration.const", `must be ${spanText(exact)}${got()}`);
    const lowerOk = gt ? compareSpans(span, gt) > 0 : gte ? compareSpans(span, gte) >= 0 : true;
    const upperOk = lt ? compareSpans(span, lt) < 0 : lte ? compareSpans(span, lte) <= 0 : true;
    if (exclusive) {
      if (!lowerOk && !upperOk) fail(errors, `duration.${gt ? "gt" : "gte"}`, `must be outside ${spanText(upper!)}..${spanText(lower!)}${got()}`);
    } else {
      if (!lowerOk) fail(errors, `duration.${gt ? "gt" : "gte"}`, `must be ${gt ? "greater than" : "at least"} ${spanText(lower!)}${got()}`);
      if (!upperOk) fail(errors, `duration.${lt ? "lt" : "lte"}`, `must be ${lt ? "less than" : "at most"} ${spanText(upper!)}${got()}`);
    }
    if (allowed && !allowed.some((a) => compareSpans(a, span) === 0)) fail(errors, "duration.in", `must be one of ${allowed.map(spanText).join(", ")}${got()}`);
    if (forbidden?.some((f) => compareSpans(f, span) === 0)) fail(errors, "duration.not_in", `must not be ${spanText(span)}`);
  };
}

/** Checks an Any's type URL against PGV's any.in / any.not_in (required is the caller's). */
export function compileAnyTypeRules(rules: RuleObject | undefined): ((url: string, errors: ValidationError[]) => void) | undefined {
  if (!rules) return undefined;
  onlyKeys("any", rules, ["required", "in", "not_in"]);
  const allowed = rules.in === undefined ? undefined : (asList(rules.in) as string[]);
  const forbidden = rules.not_in === undefined ? undefined : (asList(rules.not_in) as string[]);
  if (!allowed && !forbidden) return undefined;
  return (url, errors) => {
    if (allowed && !allowed.includes(url)) fail(errors, "any.in", `type ${url} is not one of ${allowed.join(", ")}`);
    if (forbidden?.includes(url)) fail(errors, "any.not_in", `type ${url} is not allowed here`);
  };
}

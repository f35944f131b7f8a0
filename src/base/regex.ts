// Checks a regex the way Envoy will compile it: with RE2 (re2js here, a port of RE2), and within a
// program-size bound. JavaScript's RegExp accepts lookaround and backreferences; RE2 rejects them,
// and Envoy NACKs the whole resource that carries one, so nothing reaches a config unchecked.
import { RE2JS } from "re2js";

/**
 * Envoy refuses a regex whose RE2 program is bigger than the runtime value
 * `re2.max_program_size.error_level`, 100 by default. re2js counts instructions like RE2 does for
 * ASCII patterns; C++ RE2 compiles Unicode classes (`\pL`, `.` over UTF-8) to more instructions, so
 * the figure is a floor, and we keep Envoy's own default rather than a looser bound.
 */
export const defaultMaxProgramSize = 100;

/** Longer sources are refused before compiling, so a huge string costs nothing to reject. */
export const maxRegexLength = 1024;

export interface CheckRe2Options {
  /** Largest accepted RE2 program size; raise it with Envoy's `re2.max_program_size.error_level`. */
  maxProgramSize?: number;
}

// Verdicts by size bound, then by regex: a route config repeats the same regexes many times.
const verdicts = new Map<number, Map<string, string | undefined>>();
const verdictCacheLimit = 10_000;

/** Undefined when `regex` is valid RE2 within the size bound, else why it is not. */
export function checkRe2(regex: string, options: CheckRe2Options = {}): string | undefined {
  const maxProgramSize = options.maxProgramSize ?? defaultMaxProgramSize;
  let known = verdicts.get(maxProgramSize);
  if (!known) {
    known = new Map();
    verdicts.set(maxProgramSize, known);
  }
  const cached = known.get(regex);
  if (cached !== undefined || known.has(regex)) return cached;
  const verdict = judge(regex, maxProgramSize);
  if (known.size >= verdictCacheLimit) known.clear();
  known.set(regex, verdict);
  return verdict;
}

function judge(regex: string, maxProgramSize: number): string | undefined {
  const shown = regex.length > 80 ? `${JSON.stringify(regex.slice(0, 80))}…` : JSON.stringify(regex);
  if (regex.length > maxRegexLength) {
    return `invalid RE2 regex ${shown}: ${regex.length} characters, more than the ${maxRegexLength} allowed`;
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(regex);
  } catch (error) {
    return `invalid RE2 regex ${shown}: ${reason(regex, error)}`;
  }
  const size = compiled.programSize();
  if (size > maxProgramSize) {
    return `invalid RE2 regex ${shown}: program size ${size} is over the limit of ${maxProgramSize} (Envoy's re2.max_program_size.error_level)`;
  }
  return undefined;
}

/** A reason a user can act on: names the construct RE2 lacks when that is what failed. */
function reason(regex: string, error: unknown): string {
  if (/\(\?<?[=!]/.test(regex)) return "lookaround ((?=, (?!, (?<=, (?<!) not supported by RE2";
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(regex)) return "backreferences (\\1 …) not supported by RE2";
  if (/\(\?>/.test(regex)) return "atomic groups ((?>…)) not supported by RE2";
  if (/[*+?}][+]/.test(regex) && /invalid nested repetition|bad repetition/.test(String(error))) {
    return "possessive quantifiers (a*+) not supported by RE2";
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^error parsing regexp: /, "");
}

const compiledPatterns = new Map<string, RE2JS>();

/**
 * Whether `input` matches `pattern` somewhere, with RE2 semantics (for protoc-gen-validate's
 * `string.pattern`, which is RE2). Patterns are compiled once.
 */
export function re2Matches(pattern: string, input: string): boolean {
  let compiled = compiledPatterns.get(pattern);
  if (!compiled) {
    compiled = RE2JS.compile(pattern);
    compiledPatterns.set(pattern, compiled);
  }
  return compiled.matcher(input).find();
}

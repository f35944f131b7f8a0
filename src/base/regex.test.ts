import { describe, expect, test } from "bun:test";
import { checkRe2, defaultMaxProgramSize, maxRegexLength, re2Matches } from "./regex.ts";

describe("checkRe2", () => {
  test("accepts the regexes routes use", () => {
    for (const regex of ["^/api/v[0-9]+/users/[a-z]+$", "/foo/.*", "(?i)^/Admin", "\\d{3}-\\d{4}", "(?P<id>[0-9]+)", "[[:alpha:]]+", "^$", "a|b|c", "\\pL+"]) {
      expect(checkRe2(regex)).toBeUndefined();
    }
  });

  test("rejects lookahead and lookbehind, which JavaScript accepts", () => {
    for (const regex of ["/foo(?=bar)", "/foo(?!bar)", "(?<=/api)/v1", "(?<!x)y"]) {
      expect(() => new RegExp(regex)).not.toThrow();
      expect(checkRe2(regex)).toBe(`invalid RE2 regex ${JSON.stringify(regex)}: lookaround ((?=, (?!, (?<=, (?<!) not supported by RE2`);
    }
  });

  test("rejects backreferences, which JavaScript accepts", () => {
    const regex = "^/(a+)/\\1$";
    expect(new RegExp(regex).test("/aa/aa")).toBe(true);
    expect(checkRe2(regex)).toBe(`invalid RE2 regex "^/(a+)/\\\\1$": backreferences (\\1 …) not supported by RE2`);
  });

  test("rejects atomic groups and possessive quantifiers", () => {
    expect(checkRe2("(?>ab)c")).toContain("atomic groups");
    expect(checkRe2("a*+")).toMatch(/^invalid RE2 regex "a\*\+": /);
  });

  test("reports RE2's own syntax errors", () => {
    expect(checkRe2("[a-")).toBe('invalid RE2 regex "[a-": missing closing ]: `[a-`');
    expect(checkRe2("\\Z")).toBe('invalid RE2 regex "\\\\Z": invalid escape sequence: `\\Z`');
    expect(checkRe2("a{1001}")).toContain("invalid repeat count");
  });

  test("bounds the program size, Envoy's default unless raised", () => {
    const big = "a{150}"; // about 152 instructions
    expect(checkRe2(big)).toMatch(new RegExp(`program size \\d+ is over the limit of ${defaultMaxProgramSize}`));
    expect(checkRe2(big, { maxProgramSize: 1000 })).toBeUndefined();
    expect(checkRe2("a{90}")).toBeUndefined();
  });

  test("bounds the length before compiling, and shortens what it shows", () => {
    const long = "a".repeat(maxRegexLength + 1);
    const verdict = checkRe2(long, { maxProgramSize: 100_000 })!;
    expect(verdict).toBe(`invalid RE2 regex "${"a".repeat(80)}"…: ${maxRegexLength + 1} characters, more than the ${maxRegexLength} allowed`);
  });

  test("the verdict does not depend on what was checked before", () => {
    expect(checkRe2("x{150}", { maxProgramSize: 1000 })).toBeUndefined();
    expect(checkRe2("x{150}")).toContain("program size");
  });
});

describe("re2Matches", () => {
  test("finds a match anywhere, with RE2 semantics", () => {
    expect(re2Matches("^[^?#]+[^?#/]$", "/foo/bar")).toBe(true);
    expect(re2Matches("^[^?#]+[^?#/]$", "/foo/")).toBe(false);
    expect(re2Matches("b+", "abbbc")).toBe(true);
  });
});

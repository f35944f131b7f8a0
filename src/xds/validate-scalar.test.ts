import { describe, expect, test } from "bun:test";
import { type Check, compileDuration, compileScalar, patternMatcher, type ValidationError } from "./validate-scalar.ts";
import { re2Matches } from "../base/regex.ts";

function run(check: Check | undefined, value: unknown): ValidationError[] {
  const errors: ValidationError[] = [];
  check!(value, errors);
  return errors;
}
const rules = (errors: ValidationError[]) => errors.map((e) => e.rule);

describe("protoc-gen-validate semantics", () => {
  test("a range whose lower bound is above its upper bound is exclusive", () => {
    const outside = compileScalar("uint32", { gt: 10, lt: 5 });
    expect(run(outside, 3)).toEqual([]);
    expect(run(outside, 11)).toEqual([]);
    expect(run(outside, 7)).toEqual([{ path: "", rule: "uint32.gt", message: "must be less than 5 or greater than 10, got 7" }]);
    const inside = compileScalar("int32", { gte: -5, lte: 5 });
    expect(rules(run(inside, -6))).toEqual(["int32.gte"]);
    expect(run(inside, 5)).toEqual([]);
  });

  test("64-bit values may come as strings", () => {
    const check = compileScalar("uint64", { lt: 65536, gt: 0 });
    expect(run(check, "1500")).toEqual([]);
    expect(rules(run(check, "70000"))).toEqual(["uint64.lt"]);
    expect(rules(run(check, "many"))).toEqual(["uint64.type"]);
  });

  test("string lengths count characters (code points), byte limits count UTF-8 bytes", () => {
    expect(rules(run(compileScalar("string", { min_len: 2 }), "😀"))).toEqual(["string.min_len"]);
    expect(run(compileScalar("string", { max_len: 1 }), "😀")).toEqual([]);
    expect(rules(run(compileScalar("string", { max_bytes: 3 }), "😀"))).toEqual(["string.max_bytes"]);
    expect(run(compileScalar("string", { max_bytes: 4 }), "😀")).toEqual([]);
  });

  test("ignore_empty skips every rule for the empty value", () => {
    const check = compileScalar("string", { well_known_regex: "HTTP_HEADER_NAME", ignore_empty: true });
    expect(run(check, "")).toEqual([]);
    expect(rules(run(check, "a b"))).toEqual(["string.well_known_regex"]);
  });

  test("the strict header-name class is PGV's, pseudo-headers included", () => {
    const check = compileScalar("string", { well_known_regex: "HTTP_HEADER_NAME" });
    for (const ok of [":authority", "x-request-id", "X_Custom~1"]) expect(run(check, ok)).toEqual([]);
    for (const bad of ["", "a:b", "x y", "é"]) expect(rules(run(check, bad))).toEqual(["string.well_known_regex"]);
  });

  test("prefix, suffix, contains, in and not_in", () => {
    const check = compileScalar("string", { prefix: "/", suffix: "z", contains: "mid", not_in: ["/midz"] });
    expect(run(check, "/a-mid-z")).toEqual([]);
    expect(rules(run(check, "a"))).toEqual(["string.prefix", "string.suffix", "string.contains"]);
    expect(rules(run(check, "/midz"))).toEqual(["string.not_in"]);
  });

  test("a sensitive value is never shown in a message", () => {
    const [error] = run(compileScalar("string", { in: ["a"] }, { sensitive: true }), "s3cret-key");
    expect(error!.message).toBe('must be one of "a", got the value');
  });

  test("durations: bounds with seconds and nanos, exclusive ranges, {seconds, nanos} objects", () => {
    const check = compileDuration({ gte: { nanos: 1000000 }, lt: { seconds: 300 } });
    expect(run(check, "0.001s")).toEqual([]);
    expect(run(check, { seconds: 299, nanos: 999999999 })).toEqual([]);
    expect(run(check, "0.0009s")).toEqual([{ path: "", rule: "duration.gte", message: "must be at least 0.001s, got 0.0009s" }]);
    expect(rules(run(check, "300s"))).toEqual(["duration.lt"]);
    const outside = compileDuration({ gt: { seconds: 10 }, lt: { seconds: 5 } });
    expect(run(outside, "11s")).toEqual([]);
    expect(rules(run(outside, "7s"))).toEqual(["duration.gt"]);
  });

  test("Envoy's string patterns give RE2's answer when run as JS regexes", () => {
    const patterns = ["^[^?#]+[^?#/]$", "^[0-9a-zA-Z_\\-\\.~:]+$", "^[0-9a-zA-Z_\\-\\./~:]+$", "^a+$|^b$", "a.c"];
    const inputs = ["", "/", "/a", "/a/", "/api", "/a?b", "/a#", "a\nb", "a\nb\n", "\n", "é/ü", "😀x", "x😀", "a-b.c~d:e_f", "a/b", "a b", "A9", "abc", "a\u2028c", "aaa", "b"];
    for (const pattern of patterns) {
      const matches = patternMatcher(pattern);
      for (const input of inputs) expect([pattern, input, matches(input)]).toEqual([pattern, input, re2Matches(pattern, input)]);
    }
  });

  test("a rule the validator does not implement fails when compiled, not silently", () => {
    expect(() => compileScalar("string", { email: true })).toThrow("validate rule string.email is not supported by the validator");
    expect(() => compileScalar("string", { well_known_regex: "HTTP_HEADER_TRAILER" })).toThrow("not supported");
  });
});

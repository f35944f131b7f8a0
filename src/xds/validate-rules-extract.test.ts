import { describe, expect, test } from "bun:test";
import protobuf from "protobufjs";
import rulesJson from "./generated/validate-rules.json" with { type: "json" };
import { root } from "./registry.ts";
import { type ExtractedRules, extractValidateRules, type RuleObject, type RuleValue } from "./validate-rules-extract.ts";

const extracted = rulesJson as unknown as ExtractedRules;

describe("extractValidateRules", () => {
  const source = `
    syntax = "proto3";
    package demo.v1; // comment with [(validate.rules).string = {min_len: 9}]
    import "validate/validate.proto";
    option java_package = "io.demo";
    /* block [(validate.rules).uint32 = {gt: 9}] */
    message Outer {
      option (udpa.annotations.versioning).previous_message_type = "demo.v0.Outer";
      reserved 7, 8;
      reserved "old";
      message Inner {
        google.protobuf.Duration timeout = 1 [(validate.rules).duration = {gt {}}];
        string scheme = 2 [(validate.rules).string = {in: "http" in: "https"}];
      }
      enum Kind { KIND_UNSPECIFIED = 0; A = 1 [(validate.rules).string = {min_len: 3}]; }
      oneof action {
        option (validate.required) = true;
        string name = 3 [(validate.rules).string = {min_len: 1 well_known_regex: HTTP_HEADER_NAME strict: false}];
        uint32 code = 4 [(validate.rules).uint32 = {lt: 600 gte: 200}];
      }
      oneof optional_thing { string other = 5; }
      map<string, string> labels = 6 [(validate.rules).map = {keys {string {min_len: 1}}}];
      repeated string hosts = 9 [
        (udpa.annotations.sensitive) = true,
        (validate.rules).repeated = {min_items: 1 items {string {pattern: "^[^\\\\x00\\\\n]*$" max_bytes: 255}}}
      ];
      string path = 10 [(validate.rules).string.pattern = "^/" "[a-z]*$", deprecated = true];
      google.protobuf.Duration gte_zero = 11 [(validate.rules).duration = {gte {}}, (validate.rules).duration.lt = {seconds: 5}];
      Kind kind = 12 [(validate.rules).enum = {defined_only: true not_in: [0, 2]}];
    }
    service Ignored { rpc Do(Outer) returns (Outer) { option (google.api.http) = { post: "/v1/{name=x}" body: "*" }; } }
  `;
  const rules = extractValidateRules(source);

  test("keeps empty aggregates and repeated keys that protobufjs loses", () => {
    expect(rules.fields["demo.v1.Outer.Inner.timeout"]).toEqual({ duration: { gt: {} } });
    expect(rules.fields["demo.v1.Outer.Inner.scheme"]).toEqual({ string: { in: ["http", "https"] } });
    expect(rules.fields["demo.v1.Outer.kind"]).toEqual({ enum: { defined_only: true, not_in: [0, 2] } });
  });

  test("names fields by message path, through oneofs, and reads every value form", () => {
    expect(rules.fields["demo.v1.Outer.name"]).toEqual({ string: { min_len: 1, well_known_regex: "HTTP_HEADER_NAME", strict: false } });
    expect(rules.fields["demo.v1.Outer.code"]).toEqual({ uint32: { lt: 600, gte: 200 } });
    expect(rules.fields["demo.v1.Outer.labels"]).toEqual({ map: { keys: { string: { min_len: 1 } } } });
    expect(rules.fields["demo.v1.Outer.hosts"]).toEqual({ repeated: { min_items: 1, items: { string: { pattern: "^[^\\x00\\n]*$", max_bytes: 255 } } } });
    expect(rules.fields["demo.v1.Outer.path"]).toEqual({ string: { pattern: "^/[a-z]*$" } });
    expect(rules.fields["demo.v1.Outer.gte_zero"]).toEqual({ duration: { gte: {}, lt: { seconds: 5 } } });
  });

  test("finds required oneofs only, and ignores comments, enums and services", () => {
    expect(rules.requiredOneofs).toEqual(["demo.v1.Outer.action"]);
    expect(Object.keys(rules.fields).sort()).toEqual(
      ["code", "gte_zero", "hosts", "kind", "labels", "name", "path", "Inner.scheme", "Inner.timeout"].map((f) => `demo.v1.Outer.${f}`).sort(),
    );
  });

  test("names the line of what it cannot read", () => {
    expect(() => extractValidateRules('syntax = "proto3";\nmessage M {\n  string x [(validate.rules).string = {min_len: 1}];\n}')).toThrow(/line 3/);
  });
});

// What protobufjs did keep must agree with what the extractor read from the same protos.
function ruleAt(rules: RuleObject | undefined, path: string[]): RuleValue | undefined {
  let value: RuleValue | undefined = rules;
  for (const key of path) value = value !== undefined && typeof value === "object" && !Array.isArray(value) ? value[key] : undefined;
  return value;
}

function* allTypes(namespace: protobuf.NamespaceBase): Generator<protobuf.Type> {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) yield nested;
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) yield* allTypes(nested);
  }
}

describe("generated/validate-rules.json", () => {
  test("holds every rule protobufjs kept in the descriptor, with the same value", () => {
    let compared = 0;
    for (const type of allTypes(root)) {
      for (const field of type.fieldsArray) {
        for (const [key, value] of Object.entries(field.options ?? {})) {
          if (!key.startsWith("(validate.rules).")) continue;
          const found = ruleAt(extracted.fields[`${type.fullName.slice(1)}.${field.name}`], key.slice("(validate.rules).".length).split("."));
          if (Array.isArray(found)) expect(found).toContain(value as RuleValue);
          else {
            const where = `${type.fullName}.${field.name} ${key}`;
            expect({ where, value: found as unknown }).toEqual({ where, value: value as unknown });
          }
          compared++;
        }
      }
      for (const oneof of type.oneofsArray) {
        if (oneof.options?.["(validate.required)"] === true) {
          expect(extracted.requiredOneofs).toContain(`${type.fullName.slice(1)}.${oneof.name}`);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(600);
  });

  test("holds the rules protobufjs dropped", () => {
    expect(extracted.fields["envoy.config.cluster.v3.Cluster.connect_timeout"]).toEqual({ duration: { gt: {} } });
    expect(root.lookupType("envoy.config.cluster.v3.Cluster").fields.connect_timeout!.options ?? {}).not.toHaveProperty("(validate.rules).duration.gt");
    const flags = ruleAt(extracted.fields["envoy.config.accesslog.v3.ResponseFlagFilter.flags"], ["repeated", "items", "string", "in"]);
    expect(Array.isArray(flags) && flags.length).toBeGreaterThan(20);
  });
});

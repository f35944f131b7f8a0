// The structural-schema validator: each keyword, with the API server's error texts and field paths.
import { describe, expect, test } from "bun:test";
import { schemaErrors, type StructuralSchema } from "./schema.ts";

const condition: StructuralSchema = {
  type: "object",
  properties: { prefix: { type: "string" }, header: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } },
};
const spec: StructuralSchema = {
  type: "object",
  properties: {
    routes: {
      type: "array",
      items: {
        type: "object",
        properties: {
          conditions: { type: "array", items: condition },
          port: { type: "integer", minimum: 1, maximum: 65535 },
          protocol: { type: "string", enum: ["h2", "h2c", "tls"] },
          timeout: { type: "string", pattern: "^[0-9]+(ms|s)$" },
          name: { type: "string", minLength: 1, maxLength: 4 },
          names: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
          extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { known: { type: "boolean" } } },
          labels: { type: "object", additionalProperties: { type: "string" } },
          anything: { type: "object", additionalProperties: true },
          target: { "x-kubernetes-int-or-string": true },
          weight: { type: "number", nullable: true },
        },
        required: ["port"],
      },
    },
  },
};

function errors(route: Record<string, unknown>): string[] {
  return schemaErrors({ routes: [{ port: 80, ...route }] }, spec, { path: "spec" });
}

describe("structural schema validator", () => {
  test("a valid object has no errors", () => {
    expect(
      errors({
        conditions: [{ prefix: "/api" }, { header: { name: "x" } }],
        protocol: "h2",
        timeout: "5s",
        name: "abcd",
        names: ["a"],
        extra: { known: true, whatever: { deep: 1 } },
        labels: { a: "b" },
        anything: { x: [1] },
        target: 8080,
        weight: null,
      }),
    ).toEqual([]);
    expect(errors({ target: "http" })).toEqual([]);
    expect(errors({ weight: 1.5 })).toEqual([]);
  });

  test("unknown fields are errors naming the full path, at every depth", () => {
    expect(errors({ conditions: [{ prefx: "/api" }] })).toEqual(["spec.routes[0].conditions[0].prefx: field not declared in schema"]);
    expect(errors({ timeoutPolicy: { respons: "5s" } })).toEqual(["spec.routes[0].timeoutPolicy: field not declared in schema"]);
    expect(errors({ conditions: [{ header: { name: "x", exactt: "y" } }] })).toEqual(["spec.routes[0].conditions[0].header.exactt: field not declared in schema"]);
    expect(schemaErrors({ rotues: [] }, spec, { path: "spec" })).toEqual(["spec.rotues: field not declared in schema"]);
    // Preserved fields stay free-form, but the known ones are still checked.
    expect(errors({ extra: { known: "yes", free: 1 } })).toEqual([
      'spec.routes[0].extra.known: Invalid value: "string": spec.routes[0].extra.known in body must be of type boolean: "string"',
    ]);
    expect(errors({ labels: { a: 1 } })).toEqual(['spec.routes[0].labels.a: Invalid value: "integer": spec.routes[0].labels.a in body must be of type string: "integer"']);
  });

  test("types, with null refused unless nullable, and int-or-string", () => {
    expect(errors({ port: "80" })).toEqual(['spec.routes[0].port: Invalid value: "string": spec.routes[0].port in body must be of type integer: "string"']);
    expect(errors({ port: 8.5 })).toEqual(['spec.routes[0].port: Invalid value: "number": spec.routes[0].port in body must be of type integer: "number"']);
    expect(errors({ conditions: null })).toEqual(['spec.routes[0].conditions: Invalid value: "null": spec.routes[0].conditions in body must be of type array: "null"']);
    expect(errors({ conditions: [["/api"]] })).toEqual(['spec.routes[0].conditions[0]: Invalid value: "array": spec.routes[0].conditions[0] in body must be of type object: "array"']);
    expect(errors({ target: true })).toEqual(['spec.routes[0].target: Invalid value: "boolean": spec.routes[0].target in body must be of type integer or string: "boolean"']);
  });

  test("required, enum, pattern, bounds, lengths and item counts", () => {
    expect(schemaErrors({ routes: [{}] }, spec, { path: "spec" })).toEqual(["spec.routes[0].port: Required value"]);
    expect(errors({ conditions: [{ header: {} }] })).toEqual(["spec.routes[0].conditions[0].header.name: Required value"]);
    expect(errors({ protocol: "h3" })).toEqual(['spec.routes[0].protocol: Unsupported value: "h3": supported values: "h2", "h2c", "tls"']);
    expect(errors({ timeout: "5 s" })).toEqual([`spec.routes[0].timeout: Invalid value: "5 s": spec.routes[0].timeout in body should match '^[0-9]+(ms|s)$'`]);
    expect(errors({ port: 0 })).toEqual(["spec.routes[0].port: Invalid value: 0: spec.routes[0].port in body should be greater than or equal to 1"]);
    expect(errors({ port: 65536 })).toEqual(["spec.routes[0].port: Invalid value: 65536: spec.routes[0].port in body should be less than or equal to 65535"]);
    expect(errors({ name: "" })).toEqual(['spec.routes[0].name: Invalid value: "": spec.routes[0].name in body should be at least 1 chars long']);
    expect(errors({ name: "abcde" })).toEqual(["spec.routes[0].name: Too long: may not be more than 4 bytes"]);
    expect(errors({ name: "äöüß" })).toEqual([]);
    expect(errors({ names: [] })).toEqual(["spec.routes[0].names: Invalid value: 0: spec.routes[0].names in body should have at least 1 items"]);
    expect(errors({ names: ["a", "b", "c"] })).toEqual(["spec.routes[0].names: Too many: 3: must have at most 2 items"]);
  });

  test("patterns are RE2 (as the API server's Go regexp), matched anywhere unless anchored", () => {
    const schema: StructuralSchema = { type: "string", pattern: "\\d+(\\.\\d*)?µs" };
    expect(schemaErrors("took 1.5µs", schema, { path: "x" })).toEqual([]);
    expect(schemaErrors("1.5us", schema, { path: "x" })).toHaveLength(1);
  });

  test("every problem is reported, in document order, up to maxErrors", () => {
    const bad = { conditions: [{ prefx: "/" }], port: 0, protocol: "h3" };
    expect(schemaErrors({ routes: [bad] }, spec, { path: "spec" })).toEqual([
      "spec.routes[0].conditions[0].prefx: field not declared in schema",
      "spec.routes[0].port: Invalid value: 0: spec.routes[0].port in body should be greater than or equal to 1",
      'spec.routes[0].protocol: Unsupported value: "h3": supported values: "h2", "h2c", "tls"',
    ]);
    expect(schemaErrors({ routes: [bad] }, spec, { path: "spec", maxErrors: 1 })).toHaveLength(1);
  });

  test("skipped top-level fields are neither checked nor required", () => {
    const object: StructuralSchema = { type: "object", properties: { spec: { type: "object" }, metadata: { type: "object" } }, required: ["metadata", "spec"] };
    expect(schemaErrors({ spec: {}, status: { anything: 1 } }, object, { skip: ["metadata", "status"] })).toEqual([]);
    expect(schemaErrors({ metadata: {} }, object, { skip: ["metadata", "status"] })).toEqual(["spec: Required value"]);
  });

  test("oneOf and anyOf as value validations", () => {
    const exactlyOne: StructuralSchema = {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "string" } },
      oneOf: [{ required: ["a"] }, { required: ["b"] }],
    };
    expect(schemaErrors({ a: "x" }, exactlyOne, { path: "p" })).toEqual([]);
    expect(schemaErrors({ a: "x", b: "y" }, exactlyOne, { path: "p" })).toEqual(['p: Invalid value: "object": p in body must validate one and only one schema (oneOf)']);
    const some: StructuralSchema = { ...exactlyOne, oneOf: undefined, anyOf: [{ required: ["a"] }, { required: ["b"] }] };
    expect(schemaErrors({ a: "x", b: "y" }, some, { path: "p" })).toEqual([]);
    expect(schemaErrors({}, some, { path: "p" })).toEqual(['p: Invalid value: "object": p in body must validate at least one schema (anyOf)']);
  });
});

// The Envoy API types, loaded from the descriptor that build.ts compiles from proto/ and that the
// binary embeds. The one strict way to turn a plain object into a protobuf message: an unknown or
// misspelled field, or an enum name that does not exist, throws instead of vanishing.
import Long from "long";
import protobuf from "protobufjs";
import descriptor from "./generated/descriptor.json" with { type: "json" };

// protobufjs finds `long` through a dynamic require that a bundled binary cannot follow: hand it over.
protobuf.util.Long = Long;
protobuf.configure();

export const root: protobuf.Root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
root.resolveAll();

const typeCache = new Map<string, protobuf.Type>();

/** The message type for a full name (`envoy.config.cluster.v3.Cluster`) or a type URL. */
export function lookupType(name: string): protobuf.Type {
  // By the name as given first: a type URL is looked up for every resource encoded.
  let type = typeCache.get(name);
  if (type) return type;
  const full = name.startsWith("type.googleapis.com/") ? name.slice("type.googleapis.com/".length) : name;
  type = typeCache.get(full) ?? root.lookupType(full);
  typeCache.set(full, type);
  typeCache.set(name, type);
  return type;
}

export const typeUrl = (fullName: string): string => `type.googleapis.com/${fullName}`;

export class StrictProtoError extends Error {
  override name = "StrictProtoError";
}

/** A JSON-form `google.protobuf.Any`, as our translators write it: `{"@type": url, ...fields}`. */
export interface AnyJson {
  "@type": string;
  [field: string]: unknown;
}

/**
 * Checks a plain object against a message type, recursively: every key must be a field of the type
 * (proto field name, snake_case), every enum a known name or number, every nested Any a known type,
 * every scalar of its type and range. Throws StrictProtoError naming the path of the first mistake.
 * A checker is compiled once per message type; paths are only put together on the way out of an error.
 */
export function checkStrict(type: protobuf.Type, value: unknown, path: string = type.name): void {
  try {
    checkerFor(type)(value);
  } catch (error) {
    if (error instanceof StrictFailure) throw new StrictProtoError(`${path}${error.segments.reverse().join("")}: ${error.reason}`);
    throw error;
  }
}

/** A mistake on its way out: each level adds its path segment (innermost first). */
class StrictFailure extends Error {
  readonly segments: string[] = [];
  constructor(readonly reason: string) {
    super(reason);
  }
}

function failureAt(segment: string, reason: string): StrictFailure {
  const failure = new StrictFailure(reason);
  failure.segments.push(segment);
  return failure;
}

function within<T>(segment: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof StrictFailure) error.segments.push(segment);
    throw error;
  }
}

type Checker = (value: unknown) => void;
const checkers = new Map<protobuf.Type, Checker>();

function checkerFor(type: protobuf.Type): Checker {
  let checker = checkers.get(type);
  if (!checker) {
    checker = (value) => checkers.get(type)!(value); // placeholder while compiling recursive types
    checkers.set(type, checker);
    checker = compileChecker(type);
    checkers.set(type, checker);
  }
  return checker;
}

function compileChecker(type: protobuf.Type): Checker {
  if (type.fullName === ".google.protobuf.Any") return checkAny;
  if (isWellKnownScalar(type.fullName)) {
    // Wrappers (UInt32Value 5, or {value: 5}) get their inner scalar checked; Duration, Struct: fromObject judges them.
    const inner = type.fields.value;
    if (type.fullName.endsWith("Value") && inner && !type.fullName.endsWith("ListValue") && type.fullName !== ".google.protobuf.Value") {
      const scalar = inner.type;
      return (value) => checkScalar(scalar, value !== null && typeof value === "object" ? (value as { value?: unknown }).value : value);
    }
    return () => undefined;
  }
  const typeName = type.fullName.slice(1);
  const fields = new Map<string, { check: Checker; repeated: boolean; map: boolean }>();
  for (const [name, field] of Object.entries(type.fields)) {
    field.resolve();
    fields.set(name, { check: valueChecker(field), repeated: field.repeated, map: field.map });
  }
  return (value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new StrictFailure(`expected an object for ${typeName}`);
    for (const key in value as Record<string, unknown>) {
      const fieldValue = (value as Record<string, unknown>)[key];
      const field = fields.get(key);
      if (!field) throw failureAt(`.${key}`, `no such field in ${typeName}`);
      if (fieldValue === undefined || fieldValue === null) continue;
      if (field.map) {
        if (typeof fieldValue !== "object") throw failureAt(`.${key}`, "expected a map");
        for (const k in fieldValue as Record<string, unknown>) within(`.${key}[${k}]`, () => field.check((fieldValue as Record<string, unknown>)[k]));
      } else if (field.repeated) {
        if (!Array.isArray(fieldValue)) throw failureAt(`.${key}`, "expected a list");
        for (let i = 0; i < fieldValue.length; i++) {
          const item = fieldValue[i];
          try {
            field.check(item);
          } catch (error) {
            if (error instanceof StrictFailure) error.segments.push(`.${key}[${i}]`);
            throw error;
          }
        }
      } else {
        try {
          field.check(fieldValue);
        } catch (error) {
          if (error instanceof StrictFailure) error.segments.push(`.${key}`);
          throw error;
        }
      }
    }
  };
}

function valueChecker(field: protobuf.Field): Checker {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return (value) => checkerFor(resolved)(value);
  if (resolved instanceof protobuf.Enum) {
    const numbers = new Set(Object.values(resolved.values));
    const enumName = resolved.fullName.slice(1);
    return (value) => {
      const known = typeof value === "number" ? numbers.has(value) : typeof value === "string" && value in resolved.values;
      if (!known) throw new StrictFailure(`${JSON.stringify(value)} is not a value of ${enumName}`);
    };
  }
  const scalar = field.type;
  return (value) => checkScalar(scalar, value);
}

function checkAny(value: unknown): void {
  if (value === null || typeof value !== "object") throw new StrictFailure("expected an Any");
  const { "@type": url, ...rest } = value as Record<string, unknown>;
  if (typeof url !== "string") throw new StrictFailure('an Any needs "@type"');
  let inner: protobuf.Type;
  try {
    inner = lookupType(url);
  } catch {
    throw new StrictFailure(`unknown type ${url}`);
  }
  within(`<${inner.name}>`, () => checkerFor(inner)(rest));
}

const wellKnownScalars = new Set([
  ".google.protobuf.Duration",
  ".google.protobuf.Timestamp",
  ".google.protobuf.Struct",
  ".google.protobuf.Value",
  ".google.protobuf.ListValue",
  ".google.protobuf.BoolValue",
  ".google.protobuf.UInt32Value",
  ".google.protobuf.UInt64Value",
  ".google.protobuf.Int32Value",
  ".google.protobuf.Int64Value",
  ".google.protobuf.DoubleValue",
  ".google.protobuf.FloatValue",
  ".google.protobuf.StringValue",
  ".google.protobuf.BytesValue",
  ".google.protobuf.Empty",
]);

function isWellKnownScalar(fullName: string): boolean {
  return wellKnownScalars.has(fullName);
}

/** The values each protobuf integer type holds (64-bit ones as far as a JS number is exact). */
export const integerRanges: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * A scalar must have its type, and an integer must fit: protobufjs would silently wrap 2^32 to 0
 * (a retry count of 0, a rate limit of 0 tokens) instead of refusing it.
 */
function checkScalar(type: string, value: unknown): void {
  const range = integerRanges[type];
  if (range) {
    const number = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isInteger(number) || number < range[0] || number > range[1]) {
      throw new StrictFailure(`${JSON.stringify(value)} is not a ${type} (whole number from ${range[0]} to ${range[1]})`);
    }
  } else if (type === "bool" && typeof value !== "boolean") {
    throw new StrictFailure(`${JSON.stringify(value)} is not a bool`);
  } else if (type === "string" && typeof value !== "string") {
    throw new StrictFailure(`${JSON.stringify(value)} is not a string`);
  } else if ((type === "double" || type === "float") && typeof value !== "number") {
    throw new StrictFailure(`${JSON.stringify(value)} is not a ${type}`);
  }
}

/**
 * Converts our JSON form into what protobufjs `fromObject` expects: Anys become
 * `{type_url, value: bytes}`, Durations "1.5s" become `{seconds, nanos}`, wrappers `5` become
 * `{value: 5}`, Structs become fields. Runs after checkStrict, so shapes are already right.
 */
function toProtobufjsObject(type: protobuf.Type, value: unknown): unknown {
  return converterFor(type)(value);
}

type Converter = (value: unknown) => unknown;
const converters = new Map<protobuf.Type, Converter>();

function converterFor(type: protobuf.Type): Converter {
  let converter = converters.get(type);
  if (!converter) {
    converters.set(type, (value) => converters.get(type)!(value)); // placeholder while compiling recursive types
    converter = compileConverter(type);
    converters.set(type, converter);
  }
  return converter;
}

function compileConverter(type: protobuf.Type): Converter {
  switch (type.fullName) {
    case ".google.protobuf.Any":
      // The inner message was checked with its container: encode it without checking again.
      return (value) => {
        const { "@type": url, ...rest } = value as AnyJson;
        const inner = lookupType(url);
        return { type_url: url, value: inner.encode(inner.fromObject(converterFor(inner)(rest) as Record<string, unknown>)).finish() };
      };
    case ".google.protobuf.Duration":
      return (value) => (typeof value === "string" ? parseDuration(value) : value);
    case ".google.protobuf.Struct":
      return (value) => structFromJson(value as Record<string, unknown>);
    case ".google.protobuf.Value":
      return valueFromJson;
  }
  if (type.fullName.startsWith(".google.protobuf.") && type.fullName.endsWith("Value") && type.fields.value) {
    return (value) => (value !== null && typeof value === "object" ? value : { value });
  }
  // Only message-typed fields need converting; scalars and enums pass through as they are.
  const messageFields = new Map<string, { convert: Converter; repeated: boolean; map: boolean }>();
  for (const [name, field] of Object.entries(type.fields)) {
    field.resolve();
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) messageFields.set(name, { convert: (v) => converterFor(resolved)(v), repeated: field.repeated, map: field.map });
  }
  return (value) => {
    const out: Record<string, unknown> = {};
    for (const key in value as Record<string, unknown>) {
      const fieldValue = (value as Record<string, unknown>)[key];
      if (fieldValue === undefined || fieldValue === null) continue;
      const field = messageFields.get(key);
      if (!field) out[key] = fieldValue;
      else if (field.map) {
        const map: Record<string, unknown> = {};
        for (const k in fieldValue as Record<string, unknown>) map[k] = field.convert((fieldValue as Record<string, unknown>)[k]);
        out[key] = map;
      } else if (field.repeated) out[key] = (fieldValue as unknown[]).map(field.convert);
      else out[key] = field.convert(fieldValue);
    }
    return out;
  };
}

/** Parses a proto3 JSON duration ("1s", "0.250s", "-2s"). Throws on anything else. */
export function parseDuration(text: string): { seconds: number; nanos: number } {
  const match = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!match) throw new StrictProtoError(`bad duration ${JSON.stringify(text)}: want e.g. "1.5s"`);
  const sign = match[1] ? -1 : 1;
  const seconds = Number(match[2]) * sign;
  const nanos = match[3] ? Number(match[3].padEnd(9, "0")) * sign : 0;
  return { seconds, nanos };
}

function structFromJson(value: Record<string, unknown>): unknown {
  return { fields: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, valueFromJson(v)])) };
}

// protobufjs defines google.protobuf.Value itself, with camelCase field names.
function valueFromJson(value: unknown): unknown {
  if (value === null) return { nullValue: 0 };
  if (typeof value === "number") return { numberValue: value };
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(valueFromJson) } };
  return { structValue: structFromJson(value as Record<string, unknown>) };
}

/** Strictly checks and builds a message of `type` from our JSON form. */
export function buildMessage(type: string | protobuf.Type, value: object): protobuf.Message {
  const messageType = typeof type === "string" ? lookupType(type) : type;
  checkStrict(messageType, value);
  return messageType.fromObject(toProtobufjsObject(messageType, value) as Record<string, unknown>);
}

/** Strictly checks and encodes a message of `type` from our JSON form. */
export function encodeStrict(type: string | protobuf.Type, value: object): Uint8Array {
  const messageType = typeof type === "string" ? lookupType(type) : type;
  return messageType.encode(buildMessage(messageType, value)).finish();
}

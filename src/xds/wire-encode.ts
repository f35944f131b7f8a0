// A fast path beside encodeStrict (registry.ts): our JSON form written straight to protobuf bytes,
// without protobufjs's conversion, message objects and writer operations, which made encoding the
// largest cost of a full rebuild. It writes what encodeStrict writes, byte for byte (fields in number
// order, every field present in the JSON written even when it holds the default, a string Duration
// as seconds and nanos, an Any as its type URL and its message's bytes). It handles only values of
// exactly their type and range; anything else (an unknown field, a string for a number, bytes, a
// Struct, a lone surrogate) makes it give up, and the caller encodes with encodeStrict, which then
// encodes or throws the strict path's error. wire-encode.property.test.ts holds it to encodeStrict.
import { Buffer } from "node:buffer";
import protobuf from "protobufjs";
import { lookupType, parseDuration } from "./registry.ts";
import { enumWriter, fail, integer, Output, scalarWriter, Unsupported, unsupported } from "./wire-output.ts";
import { wrapperScalars } from "./wrappers.ts";

type FieldWriter = (out: Output, value: unknown) => void;

interface FieldPlan {
  id: number;
  /** Writes the field (tag included) for a present value. */
  write: FieldWriter;
}

type MessagePlan = Record<string, FieldPlan | undefined>;

export interface WireEncoder {
  /** The bytes encodeStrict(type, json) gives, or undefined when the value is not on the fast path. */
  encode(type: protobuf.Type, json: object): Uint8Array | undefined;
  /** The same as field `fieldId` of a message (tag, length, bytes): one entry of a large resource. */
  encodeField(fieldId: number, type: protobuf.Type, json: object): Uint8Array | undefined;
  /**
   * The encodings (tag, length, bytes) of route configurations' virtual hosts, by host object, kept
   * by encodeResource: a VHDS host, the same host under another name, is spliced from them.
   */
  readonly hostEntries: WeakMap<object, { readonly bytes: Uint8Array }>;
}

/** An encoder with its own compiled plans and output buffer (encoding is synchronous: one at a time). */
export function createWireEncoder(): WireEncoder {
  const out = new Output();

  const writers = new Map<protobuf.Type, (value: unknown) => void>();

  /** The writer of a message type's fields, compiled on first use (protobufjs computes `fullName` anew on every read). */
  function writerOf(type: protobuf.Type): (value: unknown) => void {
    let writer = writers.get(type);
    if (writer) return writer;
    const name = type.fullName;
    const special = wellKnown[name];
    if (special) writer = (value) => special(out, value);
    else if (name.startsWith(".google.protobuf.")) writer = fail; // Struct, Timestamp, Empty, BytesValue, …
    else {
      const plan = planOf(type);
      writer = (value) => {
        if (value === null || typeof value !== "object" || Array.isArray(value)) throw unsupported;
        writeFields(plan, value as Record<string, unknown>);
      };
    }
    writers.set(type, writer);
    return writer;
  }

  function planOf(type: protobuf.Type): MessagePlan {
    const plan = Object.create(null) as MessagePlan;
    for (const field of type.fieldsArray) plan[field.name] = fieldPlan(field.resolve());
    return plan;
  }

  function writeFields(plan: MessagePlan, value: Record<string, unknown>): void {
    // Fields go out in number order: written as the keys come while they are in that order (the
    // common case), else everything written so far is dropped and the fields are sorted.
    const start = out.pos;
    let last = 0;
    for (const key in value) {
      const field = plan[key];
      if (field === undefined) throw unsupported;
      const fieldValue = value[key];
      if (fieldValue === undefined || fieldValue === null) continue;
      if (field.id < last) {
        out.pos = start;
        writeSorted(plan, value);
        return;
      }
      last = field.id;
      field.write(out, fieldValue);
    }
  }

  function writeSorted(plan: MessagePlan, value: Record<string, unknown>): void {
    const present: Array<[FieldPlan, unknown]> = [];
    for (const key in value) {
      const field = plan[key];
      if (field === undefined) throw unsupported;
      const fieldValue = value[key];
      if (fieldValue !== undefined && fieldValue !== null) present.push([field, fieldValue]);
    }
    present.sort((a, b) => a[0].id - b[0].id);
    for (const [field, fieldValue] of present) field.write(out, fieldValue);
  }

  function fieldPlan(field: protobuf.Field): FieldPlan {
    if (field.delimited) return { id: field.id, write: () => { throw unsupported; } };
    const resolved = field.resolvedType;
    const tag = (wireType: number) => ((field.id << 3) | wireType) >>> 0;
    let single: (value: unknown) => void;
    let wireType: number;
    let packable = false;
    if (resolved instanceof protobuf.Type) {
      wireType = 2;
      let write: ((value: unknown) => void) | undefined;
      single = (value) => {
        const start = out.begin();
        (write ??= writerOf(resolved))(value);
        out.end(start);
      };
    } else {
      const scalar = resolved instanceof protobuf.Enum ? enumWriter(resolved) : scalarWriter(field.type);
      if (!scalar) return { id: field.id, write: () => { throw unsupported; } };
      wireType = scalar.wireType;
      packable = scalar.packable;
      single = (value) => scalar.write(out, value);
    }
    if (field.map) {
      if ((field as unknown as protobuf.MapField).keyType !== "string") return { id: field.id, write: () => { throw unsupported; } };
      const valueTag = (2 << 3) | wireType;
      return {
        id: field.id,
        write(o, value) {
          if (typeof value !== "object" || Array.isArray(value)) throw unsupported;
          for (const key of Object.keys(value as object)) {
            const entry = (value as Record<string, unknown>)[key];
            if (entry === undefined || entry === null) throw unsupported;
            o.varint(tag(2));
            const start = o.begin();
            o.varint((1 << 3) | 2);
            o.string(key);
            o.varint(valueTag);
            single(entry);
            o.end(start);
          }
        },
      };
    }
    if (field.repeated) {
      const packed = packable && field.packed;
      return {
        id: field.id,
        write(o, value) {
          if (!Array.isArray(value)) throw unsupported;
          if (value.length === 0) return;
          if (packed) {
            o.varint(tag(2));
            const start = o.begin();
            for (const item of value) single(item);
            o.end(start);
            return;
          }
          const itemTag = tag(wireType);
          for (const item of value) {
            if (item === null || item === undefined) throw unsupported;
            o.varint(itemTag);
            single(item);
          }
        },
      };
    }
    const fieldTag = tag(wireType);
    return {
      id: field.id,
      write(o, value) {
        o.varint(fieldTag);
        single(value);
      },
    };
  }

  /** Google's well-known messages our JSON writes in their own form. */
  const anyPlans = new Map<string, MessagePlan | null>();
  const durations = new Map<string, { seconds: number; nanos: number } | null>();
  const wellKnown: Record<string, ((o: Output, value: unknown) => void) | undefined> = {
    ".google.protobuf.Any": (o, value) => {
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw unsupported;
      const url = (value as Record<string, unknown>)["@type"];
      if (typeof url !== "string") throw unsupported;
      let inner = anyPlans.get(url);
      if (inner === undefined) {
        inner = null;
        try {
          const type = lookupType(url);
          if (!type.fullName.startsWith(".google.protobuf.")) inner = planOf(type);
        } catch {
          // an unknown type: encodeStrict names it
        }
        anyPlans.set(url, inner);
      }
      if (!inner) throw unsupported;
      o.varint((1 << 3) | 2);
      o.string(url);
      o.varint((2 << 3) | 2);
      const start = o.begin();
      const { "@type": _url, ...rest } = value as Record<string, unknown>;
      writeFields(inner, rest);
      o.end(start);
    },
    // "1.5s" is written as both its fields, as parseDuration gives them; {seconds, nanos} as given.
    ".google.protobuf.Duration": (o, value) => {
      let duration: Record<string, unknown>;
      if (typeof value === "string") {
        let parsed = durations.get(value);
        if (parsed === undefined) {
          try {
            parsed = parseDuration(value);
          } catch {
            parsed = null;
          }
          if (durations.size < 4096) durations.set(value, parsed);
        }
        if (!parsed) throw unsupported;
        duration = parsed;
      } else if (value !== null && typeof value === "object" && !Array.isArray(value)) duration = value as Record<string, unknown>;
      else throw unsupported;
      for (const key in duration) if (key !== "seconds" && key !== "nanos") throw unsupported;
      if (duration.seconds !== undefined && duration.seconds !== null) {
        o.varint(1 << 3);
        o.varint(integer(duration.seconds, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
      }
      if (duration.nanos !== undefined && duration.nanos !== null) {
        o.varint(2 << 3);
        o.varint(integer(duration.nanos, -(2 ** 31), 2 ** 31 - 1));
      }
    },
  };
  // Wrappers: `5` or `{value: 5}`, its one field written whenever given.
  for (const [name, scalarType] of Object.entries(wrapperScalars)) {
    const scalar = scalarWriter(scalarType);
    if (!scalar) continue; // BytesValue: not on the fast path
    wellKnown[name] = (o, value) => {
      let inner = value;
      if (value !== null && typeof value === "object") {
        for (const key in value) if (key !== "value") throw unsupported;
        inner = (value as { value?: unknown }).value;
      }
      if (inner === undefined || inner === null) throw unsupported;
      o.varint((1 << 3) | scalar.wireType);
      scalar.write(o, inner);
    };
  }

  function encodeWith(write: () => void): Uint8Array | undefined {
    out.pos = 0;
    try {
      write();
    } catch (error) {
      if (error instanceof Unsupported) return undefined;
      throw error;
    }
    return Buffer.from(out.bytes.subarray(0, out.pos));
  }

  return {
    hostEntries: new WeakMap(),
    encode: (type, json) => encodeWith(() => writerOf(type)(json)),
    encodeField: (fieldId, type, json) =>
      encodeWith(() => {
        out.varint(((fieldId << 3) | 2) >>> 0);
        const start = out.begin();
        writerOf(type)(json);
        out.end(start);
      }),
  };
}


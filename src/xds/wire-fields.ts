// The protobuf wire primitives the xDS layer splices bytes with: a length-delimited field, and
// reading the top-level fields of an encoded protobuf message without decoding it: where the
// request's name list lies (server-wire.ts) and where a resource's head ends (resource-encoding.ts).
// The fast reader allocates nothing per field: each reader keeps one answer object and the value of
// the varint it read last, so it belongs to its caller (one per decoder, one per encoding) and no
// state is shared between modules. `readFieldPlain` is the reference it is tested against.
import { Buffer } from "node:buffer";
import protobuf from "protobufjs";

/** One field: its number, wire type, where its payload starts and where the field ends. */
export interface FieldRead {
  field: number;
  wireType: number;
  payload: number;
  end: number;
}

export interface FieldReader {
  /**
   * The top-level field that starts at `offset`; undefined when malformed or a group. The answer is
   * the reader's one object, overwritten by the next call: read it before the next.
   */
  read(bytes: Uint8Array, offset: number): Readonly<FieldRead> | undefined;
}

export function createFieldReader(): FieldReader {
  const answer: FieldRead = { field: 0, wireType: 0, payload: 0, end: 0 };
  /** The value of the varint readVarint read last. */
  let varintValue = 0;

  /** Reads the varint at `offset` into varintValue; returns the offset after it, or -1 when malformed. */
  function readVarint(bytes: Uint8Array, offset: number): number {
    let value = 0;
    let scale = 1;
    for (let index = offset; index < bytes.length && index < offset + 8; index++) {
      const byte = bytes[index]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        varintValue = value;
        return index + 1;
      }
      scale *= 128;
    }
    return -1;
  }

  return {
    read(bytes, offset) {
      const next = readVarint(bytes, offset);
      if (next < 0) return undefined;
      const tag = varintValue;
      const wireType = tag % 8;
      let payload = next;
      let end: number;
      if (wireType === 0) end = readVarint(bytes, next);
      else if (wireType === 1) end = next + 8;
      else if (wireType === 5) end = next + 4;
      else if (wireType === 2) {
        payload = readVarint(bytes, next);
        end = payload < 0 ? -1 : payload + varintValue;
      } else return undefined;
      if (end < 0 || end > bytes.length) return undefined;
      answer.field = Math.floor(tag / 8);
      answer.wireType = wireType;
      answer.payload = payload;
      answer.end = end;
      return answer;
    },
  };
}

/** The same answer as a FieldReader, read with protobufjs's Reader (a new object per call). */
export function readFieldPlain(bytes: Uint8Array, offset: number): FieldRead | undefined {
  try {
    const reader = protobuf.Reader.create(bytes);
    reader.pos = offset;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 3 || wireType === 4 || wireType > 5) return undefined;
    let payload = reader.pos;
    if (wireType === 2) {
      const length = reader.uint32();
      payload = reader.pos;
      reader.pos = payload + length;
    } else reader.skipType(wireType);
    if (reader.pos > bytes.length) return undefined;
    return { field, wireType, payload, end: reader.pos };
  } catch {
    return undefined;
  }
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Uint8Array.from(out);
}

/** A length-delimited field (wire type 2): tag, length, payload. */
export function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

/** The length of the run of top-level fields numbered below `fieldId` at the start of `bytes` (where a field numbered `fieldId` goes). */
export function fieldsBefore(bytes: Uint8Array, fieldId: number): number {
  const reader = createFieldReader();
  let offset = 0;
  while (offset < bytes.length) {
    const next = reader.read(bytes, offset);
    if (!next) throw new Error("cannot read the encoding it just wrote");
    if (next.field > fieldId) return offset;
    offset = next.end;
  }
  return bytes.length;
}

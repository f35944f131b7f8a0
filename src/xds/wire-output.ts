// The output side of the fast wire encoder (wire-encode.ts): a growing buffer that writes protobuf's
// wire primitives as protobufjs's writer does (varints, fixed-width numbers, UTF-8 strings, and a
// length put before a payload once it is written), and the writers of scalar values. A value the
// fast path does not write exactly as encodeStrict would throws `unsupported`.
import type protobuf from "protobufjs";

/** Thrown when a value is outside what the fast path writes: encode it with encodeStrict instead. */
export class Unsupported extends Error {}

export const unsupported = new Unsupported("not on the fast path");

/** The growing output buffer; nested messages are written in place and their length put before them. */
export class Output {
  bytes = new Uint8Array(1 << 16);
  pos = 0;
  private readonly view = () => new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  private dataView = this.view();

  reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.dataView = this.view();
  }

  varint(value: number): void {
    this.reserve(10);
    const bytes = this.bytes;
    if (value >= 0 && value <= 0xffffffff) {
      while (value > 0x7f) {
        bytes[this.pos++] = (value & 0x7f) | 0x80;
        value >>>= 7;
      }
      bytes[this.pos++] = value;
      return;
    }
    // Safe integers beyond 32 bits, and negative ones as 64-bit two's complement (ten bytes).
    let lo = Number(BigInt.asUintN(64, BigInt(value)) & 0xffffffffn);
    let hi = Number(BigInt.asUintN(64, BigInt(value)) >> 32n);
    while (hi > 0 || lo > 0x7f) {
      bytes[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    bytes[this.pos++] = lo;
  }

  fixed(size: 4 | 8, value: number, float: boolean): void {
    this.reserve(size);
    if (size === 4) {
      if (float) this.dataView.setFloat32(this.pos, value, true);
      else this.dataView.setUint32(this.pos, value >>> 0, true);
    } else this.dataView.setFloat64(this.pos, value, true);
    this.pos += size;
  }

  string(text: string): void {
    // ASCII (nearly every name and domain) in one pass, its length known up front; else both passes.
    const start = this.pos;
    const count = text.length;
    this.varint(count);
    this.reserve(count);
    const out = this.bytes;
    let at = this.pos;
    for (let i = 0; i < count; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        this.pos = start;
        this.utf8(text);
        return;
      }
      out[at++] = code;
    }
    this.pos = at;
  }

  private utf8(text: string): void {
    let length = text.length;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) continue;
      if (code >= 0xd800 && code <= 0xdfff) throw unsupported; // protobufjs writes these two ways
      length += code < 0x800 ? 1 : 2;
    }
    this.varint(length);
    this.reserve(length);
    const bytes = this.bytes;
    let pos = this.pos;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x80) bytes[pos++] = code;
      else if (code < 0x800) {
        bytes[pos++] = (code >> 6) | 0xc0;
        bytes[pos++] = (code & 0x3f) | 0x80;
      } else {
        bytes[pos++] = (code >> 12) | 0xe0;
        bytes[pos++] = ((code >> 6) & 0x3f) | 0x80;
        bytes[pos++] = (code & 0x3f) | 0x80;
      }
    }
    this.pos = pos;
  }

  /** Starts a length-delimited payload: one byte is kept for its length (see end). */
  begin(): number {
    this.reserve(1);
    return this.pos++;
  }

  /** Ends the payload begun at `start`, putting its length before it (moving it when the length takes more than a byte). */
  end(start: number): void {
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.bytes[start] = length;
      return;
    }
    let extra = 0;
    for (let rest = length >>> 7; rest > 0; rest >>>= 7) extra++;
    this.reserve(extra);
    this.bytes.copyWithin(start + 1 + extra, start + 1, this.pos);
    const end = this.pos + extra;
    this.pos = start;
    this.varint(length);
    this.pos = end;
  }
}


export interface ScalarWriter {
  wireType: number;
  packable: boolean;
  write(out: Output, value: unknown): void;
}

export function integer(value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw unsupported;
  return value;
}

export function scalarWriter(type: string): ScalarWriter | undefined {
  switch (type) {
    case "string":
      return { wireType: 2, packable: false, write: (out, value) => (typeof value === "string" ? out.string(value) : fail()) };
    case "bool":
      return { wireType: 0, packable: true, write: (out, value) => (typeof value === "boolean" ? out.varint(value ? 1 : 0) : fail()) };
    case "uint32":
      return { wireType: 0, packable: true, write: (out, value) => out.varint(integer(value, 0, 0xffffffff)) };
    case "int32":
      return { wireType: 0, packable: true, write: (out, value) => out.varint(integer(value, -(2 ** 31), 2 ** 31 - 1)) };
    case "int64":
      return { wireType: 0, packable: true, write: (out, value) => out.varint(integer(value, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) };
    case "uint64":
      return { wireType: 0, packable: true, write: (out, value) => out.varint(integer(value, 0, Number.MAX_SAFE_INTEGER)) };
    case "fixed32":
      return { wireType: 5, packable: true, write: (out, value) => out.fixed(4, integer(value, 0, 0xffffffff), false) };
    case "double":
      return { wireType: 1, packable: true, write: (out, value) => out.fixed(8, finite(value), true) };
    case "float":
      return { wireType: 5, packable: true, write: (out, value) => out.fixed(4, finite(value), true) };
  }
  return undefined; // bytes, sint*, sfixed*, fixed64: not on the fast path
}

function finite(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw unsupported;
  return value;
}

export function fail(): never {
  throw unsupported;
}

export function enumWriter(type: protobuf.Enum): ScalarWriter {
  const numbers = new Set(Object.values(type.values));
  return {
    wireType: 0,
    packable: true,
    write(out, value) {
      let number: number | undefined;
      if (typeof value === "string") number = Object.hasOwn(type.values, value) ? type.values[value] : undefined;
      else if (typeof value === "number" && numbers.has(value)) number = value;
      if (number === undefined) throw unsupported;
      out.varint(number);
    },
  };
}


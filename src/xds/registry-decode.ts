// Decoding: protobuf bytes back to our JSON form (proto field names, enums as names, Anys expanded
// with "@type", durations as "Ns"), for `agent xds`, tests and the debug views.
import protobuf from "protobufjs";
import { lookupType } from "./registry.ts";

/**
 * Decodes bytes of a message type back to our JSON form (proto field names, enums as names,
 * Anys expanded with "@type", durations as "Ns"). Used by `agent xds`, tests and debug views.
 */
export function decodeToJson(type: string | protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  const messageType = typeof type === "string" ? lookupType(type) : type;
  return messageToJson(messageType, messageType.decode(bytes));
}

/** Converts a decoded message to our JSON form (see decodeToJson). */
export function messageToJson(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  const object = type.toObject(message, { enums: String, longs: Number, bytes: String, defaults: false, oneofs: false });
  return fromProtobufjsObject(type, object) as Record<string, unknown>;
}

function fromProtobufjsObject(type: protobuf.Type, value: unknown): unknown {
  switch (type.fullName) {
    case ".google.protobuf.Any": {
      const any = value as { type_url?: string; value?: string };
      const url = any.type_url ?? "";
      let inner: protobuf.Type;
      try {
        inner = lookupType(url);
      } catch {
        return { "@type": url, value: any.value };
      }
      const bytes = Uint8Array.from(atob(any.value ?? ""), (c) => c.charCodeAt(0));
      return { "@type": url, ...decodeToJson(inner, bytes) };
    }
    case ".google.protobuf.Duration": {
      const d = value as { seconds?: number; nanos?: number };
      const total = (d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
      return `${Number(total.toFixed(9))}s`;
    }
    case ".google.protobuf.Struct":
      return structToJson(value as { fields?: Record<string, unknown> });
  }
  if (type.fullName.startsWith(".google.protobuf.") && type.fullName.endsWith("Value") && type.fields.value) {
    return (value as { value?: unknown }).value ?? defaultOfWrapper(type);
  }
  const out: Record<string, unknown> = {};
  for (const [key, fieldValue] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[key];
    const resolved = field?.resolvedType;
    if (!field || !(resolved instanceof protobuf.Type)) {
      out[key] = fieldValue;
      continue;
    }
    if (field.map) {
      out[key] = Object.fromEntries(Object.entries(fieldValue as object).map(([k, v]) => [k, fromProtobufjsObject(resolved, v)]));
    } else if (field.repeated) {
      out[key] = (fieldValue as unknown[]).map((v) => fromProtobufjsObject(resolved, v));
    } else {
      out[key] = fromProtobufjsObject(resolved, fieldValue);
    }
  }
  return out;
}

function defaultOfWrapper(type: protobuf.Type): unknown {
  const fieldType = type.fields.value!.type;
  if (fieldType === "bool") return false;
  if (fieldType === "string") return "";
  if (fieldType === "bytes") return "";
  return 0;
}

function structToJson(struct: { fields?: Record<string, unknown> }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(struct.fields ?? {}).map(([k, v]) => [k, valueToJson(v)]));
}

function valueToJson(value: unknown): unknown {
  const v = value as Record<string, unknown>;
  if ("stringValue" in v) return v.stringValue;
  if ("numberValue" in v) return v.numberValue;
  if ("boolValue" in v) return v.boolValue;
  if ("structValue" in v) return structToJson(v.structValue as { fields?: Record<string, unknown> });
  if ("listValue" in v) return ((v.listValue as { values?: unknown[] }).values ?? []).map(valueToJson);
  return null;
}

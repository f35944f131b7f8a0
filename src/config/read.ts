// Reading a configuration document against the settings it may hold: every key is either known
// (read by a typed getter), refused by name (Contour has it, isobar does not implement it), or
// unknown (a typo, refused by name too). Shared by the configuration file and ContourConfiguration.
import { ConfigError } from "./error.ts";

/** What a key may hold: a setting read by a getter, a nested group, or a setting isobar refuses. */
export type Shape = { [key: string]: true | Shape | Refused };
export interface Refused {
  refused: string;
}

export const refused = (why: string): Refused => ({ refused: why });

/** Contour's zero value: a setting given as this sets nothing. */
function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === "" || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.values(value as object).every(isEmpty);
  return false;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws on the first unknown key, and on the first refused setting that is not empty. */
export function checkShape(document: unknown, shape: Shape, prefix = ""): void {
  if (document === null || document === undefined) return;
  if (!isMapping(document)) throw new ConfigError(`${prefix || "the document"} must be a mapping of settings`);
  for (const [key, value] of Object.entries(document)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const spec = shape[key];
    if (spec === undefined) throw new ConfigError(`unknown setting ${path}`);
    if (spec === true) continue;
    if ("refused" in spec && typeof spec.refused === "string") {
      if (!isEmpty(value)) throw new ConfigError(`${path} is not implemented${spec.refused ? `: ${spec.refused}` : ""}`);
      continue;
    }
    checkShape(value, spec as Shape, path);
  }
}

/** Typed getters over one document; each names the setting's dotted path when its value is wrong. */
export class Reader {
  constructor(private readonly document: unknown) {}

  raw(path: string): unknown {
    let value: unknown = this.document;
    for (const key of path.split(".")) {
      if (!isMapping(value)) return undefined;
      value = value[key];
    }
    return value === null ? undefined : value;
  }

  string(path: string): string | undefined {
    const value = this.raw(path);
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") throw new ConfigError(`${path} must be a string, got ${JSON.stringify(value)}`);
    return value;
  }

  choice<T extends string>(path: string, choices: readonly T[]): T | undefined {
    const value = this.string(path);
    if (value === undefined) return undefined;
    if (!(choices as readonly string[]).includes(value)) throw new ConfigError(`${path} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
    return value as T;
  }

  bool(path: string): boolean | undefined {
    const value = this.raw(path);
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") throw new ConfigError(`${path} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  int(path: string, min: number, max: number): number | undefined {
    const value = this.raw(path);
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${path} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return value;
  }

  /** An unsigned 32-bit count where 0 means unset (Contour's pointers to uint32). */
  count(path: string): number | undefined {
    const value = this.int(path, 0, 4294967295);
    return value === 0 ? undefined : value;
  }

  strings(path: string): string[] | undefined {
    const value = this.raw(path);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new ConfigError(`${path} must be a list of strings, got ${JSON.stringify(value)}`);
    return value as string[];
  }

  stringMap(path: string): Record<string, string> | undefined {
    const value = this.raw(path);
    if (value === undefined) return undefined;
    if (!isMapping(value) || !Object.values(value).every((v) => typeof v === "string")) throw new ConfigError(`${path} must be a mapping of strings, got ${JSON.stringify(value)}`);
    return value as Record<string, string>;
  }

  /** A Go duration ("1m30s", "500ms") or, where `infinite` is allowed, "infinity"/"infinite" (0: disabled). */
  duration(path: string, options: { infinite: boolean }): number | undefined {
    const value = this.string(path);
    if (value === undefined) return undefined;
    if (options.infinite && (value === "infinity" || value === "infinite")) return 0;
    const ms = parseGoDuration(value);
    if (ms === undefined) throw new ConfigError(`${path} must be a duration such as "30s" or "1m30s"${options.infinite ? ' or "infinity"' : ""}, got ${JSON.stringify(value)}`);
    return ms;
  }
}

const goUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds: a sequence of decimal numbers with units; "0" alone is allowed. */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const body = text.startsWith("+") ? text.slice(1) : text;
  if (body === "" || body.startsWith("-")) return undefined;
  let total = 0;
  let rest = body;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * goUnits[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

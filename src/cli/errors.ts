// The error type of the CLI boundary: a message for one line on stderr and an exit code (2: bad
// flags or input, 1: the operation failed). Commands throw it; library modules throw their own
// UserError subclasses; `runCommand` prints either as one line.
import { parseAddress } from "../base/address.ts";
import { UserError } from "../base/errors.ts";

export class CliError extends UserError {
  override name = "CliError";
}

/** Runs a command body; a UserError (or any error) becomes one line on stderr and a non-zero exit (a UserError's code, else 1). */
export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body();
    if (typeof code === "number" && code !== 0) process.exit(code);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`agent: ${message.split("\n")[0]}\n`);
    process.exit(error instanceof UserError ? error.code : 1);
  }
}

/** A flag that may be repeated or comma-separated: `--dns-name a --dns-name b,c` → [a, b, c]. */
export function listFlag(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === "" ? [] : [value];
  return values.flatMap((v) => String(v).split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

/** A whole number flag within bounds, else a CliError naming the flag. */
export function intFlag(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return number;
}

/** An address flag (an IP, `[IPv6]`, or a host name) without brackets, else a CliError naming the flag. */
export function addressFlag(name: string, value: unknown): string {
  const parsed = parseAddress(String(value ?? ""));
  const zone = "error" in parsed && parsed.error === "zone" ? " (a zone index such as %lo is not supported)" : "";
  if ("error" in parsed) throw new CliError(`--${name} must be an IP address or a DNS name${zone}, got ${JSON.stringify(String(value ?? ""))}`);
  return parsed.ok;
}

/** A unix socket path flag: absolute (Envoy and the agent run in different directories), never an address. */
export function socketPathFlag(name: string, value: unknown): string {
  const path = String(value ?? "");
  if (!path.startsWith("/") || path.includes("\0")) throw new CliError(`--${name} must be the absolute path of a unix socket, got ${JSON.stringify(path)}`);
  return path;
}

/** Port flags that must differ (each is a listener of its own); the first clash is a CliError naming both. */
export function distinctPortFlags(ports: Record<string, number>): void {
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    const other = seen.get(port);
    if (other !== undefined) throw new CliError(`--${name} ${port} is also --${other}: each Envoy listener needs its own port`);
    seen.set(port, name);
  }
}

/** One of the given choices, else a CliError naming the flag and the choices. */
export function choiceFlag<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) throw new CliError(`--${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return value as T;
}

const durationUnits = { ms: 1, s: 1000, m: 60_000 } as const;

/**
 * A duration flag in milliseconds: a number and its unit, ms, s or m ("100ms", "1.5s", "2m"). A bare
 * number is an error for every duration flag (it meant milliseconds for one flag and seconds for
 * another), as in Contour's Go durations.
 */
export function durationFlag(name: string, value: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(value).trim());
  if (!match) {
    const bare = /^\d+(\.\d+)?$/.test(String(value).trim()) ? ": give a unit, ms, s or m" : "";
    throw new CliError(`--${name} must be a duration like 500ms, 10s or 2m, got ${JSON.stringify(value)}${bare}`);
  }
  return Number(match[1]) * durationUnits[match[2] as keyof typeof durationUnits];
}

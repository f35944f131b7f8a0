// The agent's log output: one consola reporter for every component's tagged logger, writing text
// (`HH:MM:SS.mmm LEVEL [tag] message`) on a terminal and JSON lines otherwise or by flag, filtering
// by level, collapsing repeats (same tag and message within a window: the first line is written, the
// rest become one line with a count when the window ends), and cutting PEM blocks out of messages.
// consola copies the level and reporters into each `withTag` logger when it is created (at module
// load), so `installLogging()` runs first, in main.ts: it opens the root to every level and installs
// one dispatcher that `configureLogs()` (from the flags) later points at the right output.
import { formatWithOptions } from "node:util";
import { consola, LogLevels, type ConsolaReporter, type LogObject } from "consola";

export const logLevelNames = ["silent", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevelName = (typeof logLevelNames)[number];
export type LogFormat = "auto" | "text" | "json";

interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface LogReporterOptions {
  level?: LogLevelName;
  /** auto: text when stdout is a terminal, JSON lines otherwise. */
  format?: LogFormat;
  /** Repeats of the same tag and message within this window collapse into one line (default 10 s; 0: off). */
  repeatWindowMs?: number;
  stdout?: Writable;
  stderr?: Writable;
  now?: () => number;
}

export interface LogReporter extends ConsolaReporter {
  /** Writes the pending repeat counts now. */
  flush(): void;
  /** Flushes and stops the repeat timer. */
  close(): void;
}

const levelNames: Record<string, string> = { fatal: "error", error: "error", warn: "warn", log: "info", info: "info", success: "info", ready: "info", start: "info", box: "info", fail: "error", debug: "debug", trace: "trace", verbose: "trace" };

/** Messages are names and reasons: key or certificate text never reaches the output, nor a huge body. */
function sanitize(message: string): string {
  const cut = message.replace(/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g, "[REDACTED PEM]");
  return cut.length > 4000 ? `${cut.slice(0, 4000)}… (${cut.length - 4000} more characters)` : cut;
}

function messageOf(logObj: LogObject): string {
  const args = logObj.args.map((arg: unknown) => (arg instanceof Error ? arg.message : arg));
  return sanitize(formatWithOptions({ colors: false, breakLength: Infinity, compact: true }, ...args));
}

interface Repeat {
  first: number;
  count: number;
  logObj: LogObject;
}

/** A consola reporter writing text or JSON lines with repeat collapsing. */
export function createLogReporter(options: LogReporterOptions = {}): LogReporter {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const now = options.now ?? Date.now;
  const windowMs = options.repeatWindowMs ?? 10_000;
  const level = LogLevels[options.level ?? "info"];
  const json = options.format === "json" || ((options.format ?? "auto") === "auto" && !stdout.isTTY);
  const repeats = new Map<string, Repeat>();
  let timer: ReturnType<typeof setInterval> | undefined;

  function write(logObj: LogObject, message: string, repeated: number, at: number): void {
    const name = levelNames[logObj.type] ?? "info";
    const out = logObj.level <= LogLevels.warn ? stderr : stdout;
    if (json) {
      const line: Record<string, unknown> = { time: new Date(at).toISOString(), level: name, ...(logObj.tag ? { component: logObj.tag } : {}), msg: message };
      if (repeated > 0) line.repeated = repeated;
      out.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const time = new Date(at).toISOString().slice(11, 23);
    const suffix = repeated > 0 ? ` (repeated ${repeated} more times in ${Math.round(windowMs / 1000)}s)` : "";
    out.write(`${time} ${name.toUpperCase().padEnd(5)} ${logObj.tag ? `[${logObj.tag}] ` : ""}${message}${suffix}\n`);
  }

  function sweep(force: boolean): void {
    const at = now();
    for (const [key, repeat] of repeats) {
      if (!force && at - repeat.first < windowMs) continue;
      if (repeat.count > 0) write(repeat.logObj, messageOf(repeat.logObj), repeat.count, at);
      repeats.delete(key);
    }
    if (repeats.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    log(logObj) {
      if (logObj.level > level) return;
      const message = messageOf(logObj);
      const at = now();
      if (windowMs <= 0) return write(logObj, message, 0, at);
      const key = `${logObj.tag}\u0000${logObj.type}\u0000${message}`;
      const repeat = repeats.get(key);
      if (repeat && at - repeat.first < windowMs) {
        repeat.count++;
        repeat.logObj = logObj;
        return;
      }
      if (repeat) {
        if (repeat.count > 0) write(repeat.logObj, message, repeat.count, at);
        repeats.delete(key);
      }
      // A flood of distinct messages must not grow the map without bound.
      if (repeats.size >= 1000) sweep(true);
      repeats.set(key, { first: at, count: 0, logObj });
      write(logObj, message, 0, at);
      if (!timer) {
        timer = setInterval(() => sweep(false), Math.max(windowMs / 2, 50));
        (timer as { unref?: () => void }).unref?.();
      }
    },
    flush: () => sweep(true),
    close() {
      sweep(true);
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

let active: LogReporter | undefined;
const dispatcher: ConsolaReporter = { log: (logObj, ctx) => (active ?? (active = createLogReporter())).log(logObj, ctx) };

/**
 * Makes every consola logger created from now on write through one reporter (call before the
 * modules that create tagged loggers are loaded: main.ts does). Default: info, auto format.
 */
export function installLogging(): void {
  consola.level = LogLevels.trace;
  // Repeats are collapsed by our reporter, per tag and message, not by consola's consecutive throttle.
  consola.options.throttle = 0;
  consola.setReporters([dispatcher]);
}

/** Applies --log-level and --log-format (after installLogging). */
export function configureLogs(options: Pick<LogReporterOptions, "level" | "format" | "repeatWindowMs" | "stdout">): void {
  active?.close();
  active = createLogReporter(options);
}

/** Writes pending repeat counts (before exit). */
export function flushLogs(): void {
  active?.flush();
}

// Talking to a benchmark's child process: it writes one JSON event per line on stdout and reads one
// JSON command per line on stdin. Keeps the server under test in its own process, so its RSS and CPU
// are its own.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** The one method of the raw ceiling server (raw-server.ts). */
export const rawPushPath = "/isobar.bench.Raw/Push";

export interface Child {
  /** Sends a command and resolves with the next event the child writes. */
  request(command: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The first event (the child's "ready"). */
  ready: Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Runtime flags for the child, from BENCH_CHILD_FLAGS (e.g. "--cpu-prof-md --cpu-prof-dir=/tmp/prof"). */
const childFlags = (process.env.BENCH_CHILD_FLAGS ?? "").split(" ").filter((flag) => flag !== "");

export function startChild(script: string, args: string[]): Child {
  const child: ChildProcess = spawn(process.execPath, [...childFlags, script, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const waiting: Array<(event: Record<string, unknown>) => void> = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    if (!line.startsWith("{")) return;
    waiting.shift()?.(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const next = () => new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  const ready = next();
  return {
    ready,
    request(command) {
      const event = next();
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      return event;
    },
    async stop() {
      child.stdin!.write(`${JSON.stringify({ cmd: "exit" })}\n`);
      await exited;
    },
  };
}

/** The child's side: answers each command line with what `handle` returns. */
export function serveCommands(handle: (command: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>): void {
  const lines = createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    const command = JSON.parse(line) as Record<string, unknown>;
    const event = await handle(command);
    process.stdout.write(`${JSON.stringify(event)}\n`);
  });
}

export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

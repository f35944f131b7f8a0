// `agent` from the sources in a child process (`bun src/main.ts`), its JSON log lines collected and
// waited on by message: for tests of signals, exit codes and flags without building dist/agent.
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

/** `bun src/main.ts ARGS` with JSON logs, read line by line. */
export function spawnAgent(args: string[]) {
  const child = Bun.spawn([process.execPath, "src/main.ts", ...args], { cwd: root, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const lines: Array<{ msg: string; component?: string; level: string }> = [];
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const text of parts) {
        if (!text.startsWith("{")) continue;
        const line = JSON.parse(text) as { msg: string; level: string };
        lines.push(line);
        for (const waiter of [...waiters]) {
          const match = waiter.pattern.exec(line.msg);
          if (match) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(match);
          }
        }
      }
    }
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    child,
    lines,
    pumped,
    waitFor(pattern: RegExp): Promise<RegExpExecArray> {
      for (const line of lines) {
        const match = pattern.exec(line.msg);
        if (match) return Promise.resolve(match);
      }
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

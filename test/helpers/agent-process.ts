// `agent` from the sources in a child process (`bun src/main.ts`), its JSON log lines collected and
// waited on by message: for tests of signals, exit codes and flags without building dist/agent.
import { join } from "node:path";
import { readLines } from "./lines.ts";

const root = join(import.meta.dir, "../..");

/** `bun src/main.ts ARGS` with JSON logs, read line by line. */
export function spawnAgent(args: string[]) {
  const child = Bun.spawn([process.execPath, "src/main.ts", ...args], { cwd: root, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const lines: Array<{ msg: string; component?: string; level: string }> = [];
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  const onLine = (text: string) => {
    if (!text.startsWith("{")) return;
    const line = JSON.parse(text) as { msg: string; level: string };
    lines.push(line);
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(line.msg);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  const pumped = readLines([child.stdout, child.stderr], onLine);
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

/** `bun src/main.ts ARGS` to completion: exit code, stdout and stderr. `env` is added to the environment. */
export async function runSource(args: string[], options: { env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  const child = Bun.spawn([process.execPath, join(root, "src/main.ts"), ...args], { cwd: root, stdout: "pipe", stderr: "pipe", stdin: "ignore", ...(env ? { env } : {}) });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

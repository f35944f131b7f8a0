// The compiled agent (dist/agent) for tests that must hold for the binary users run, not just the
// sources under `bun test`: built when missing or older than the sources, run to completion, or
// started as a server whose output is watched line by line.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readLines } from "./lines.ts";
import type { Subprocess } from "bun";

const root = join(import.meta.dir, "../..");
export const agentPath = join(root, "dist/agent");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|json)$/.test(entry.name) && !entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

let building: Promise<string> | undefined;

/** dist/agent, built first (`bun run build.ts`) when it is missing or older than src/. */
export function ensureAgentBinary(): Promise<string> {
  building ??= (async () => {
    const stale = !existsSync(agentPath) || statSync(agentPath).mtimeMs < Math.max(newestSource(join(root, "src")), statSync(join(root, "package.json")).mtimeMs);
    if (!stale) return agentPath;
    const build = Bun.spawn([process.execPath, "run", "build.ts"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if ((await build.exited) !== 0) throw new Error(`building dist/agent failed:\n${await new Response(build.stderr).text()}`);
    return agentPath;
  })();
  return building;
}

export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dist/agent ARGS` to completion. */
export async function runAgent(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<AgentRun> {
  const child = Bun.spawn([agentPath, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

export interface RunningBinary {
  process: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything printed so far, stdout and stderr interleaved by line. */
  output(): string;
  /** Resolves with the first line (already printed or to come) matching `pattern`; rejects if the process exits first. */
  waitForLine(pattern: RegExp, options?: { after?: number }): Promise<RegExpExecArray>;
  /** How many lines were printed so far (for `waitForLine(…, { after })`). */
  lineCount(): number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** A command the agent runs under, e.g. `setpriv --reuid=65534 …` to run it as another user. */
  wrapper?: string[];
}

/** Starts `dist/agent ARGS` in the background, reading its output line by line. */
export function startAgentBinary(args: string[], options: StartOptions = {}): RunningBinary {
  const child = Bun.spawn([...(options.wrapper ?? []), agentPath, ...args], { env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; after: number; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void }>();
  let exited: number | undefined;
  function addLine(line: string) {
    lines.push(line);
    for (const waiter of waiters) {
      const match = waiter.pattern.exec(line);
      if (match && lines.length - 1 >= waiter.after) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  }
  const pumped = readLines([child.stdout, child.stderr], addLine);
  void Promise.all([child.exited, pumped]).then(([code]) => {
    exited = code;
    for (const waiter of waiters) waiter.reject(new Error(`agent exited with ${code} before printing ${waiter.pattern}:\n${lines.join("\n")}`));
    waiters.clear();
  });
  return {
    process: child,
    output: () => lines.join("\n"),
    lineCount: () => lines.length,
    waitForLine(pattern, { after = 0 } = {}) {
      for (let index = after; index < lines.length; index++) {
        const match = pattern.exec(lines[index]!);
        if (match) return Promise.resolve(match);
      }
      if (exited !== undefined) return Promise.reject(new Error(`agent exited with ${exited} before printing ${pattern}:\n${lines.join("\n")}`));
      return new Promise((resolve, reject) => waiters.add({ pattern, after, resolve, reject }));
    },
    async stop() {
      child.kill("SIGTERM");
      const code = await child.exited;
      await pumped;
      return code;
    },
  };
}

/** Starts `agent serve ARGS --port 0` and resolves with the port it listens on. */
export async function startServe(args: string[], options: StartOptions = {}): Promise<RunningBinary & { port: number }> {
  const agent = startAgentBinary(["serve", "--port", "0", "--metrics-address", "127.0.0.1", "--metrics-port", "0", "--debug-port", "0", ...args], options);
  const match = await agent.waitForLine(/xDS server listening on \S+:(\d+)/);
  return Object.assign(agent, { port: Number(match[1]) });
}

import { expect, test } from "bun:test";
import { createConsola } from "consola";
import { createLogReporter, type LogReporterOptions } from "./log.ts";

function capture(options: LogReporterOptions & { tty?: boolean }) {
  const out: string[] = [];
  const err: string[] = [];
  let clock = Date.parse("2026-01-02T03:04:05.678Z");
  const reporter = createLogReporter({
    ...options,
    stdout: { write: (text: string) => out.push(text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => err.push(text), isTTY: options.tty ?? false },
    now: () => clock,
  });
  const root = createConsola({ level: 5, throttle: 0, reporters: [reporter] });
  return { root, reporter, out, err, advance: (ms: number) => (clock += ms) };
}

test("JSON lines when stdout is not a terminal: time, level, component, message", () => {
  const { root, out, err } = capture({});
  root.withTag("xds").info("xDS server listening on %s:%d", "127.0.0.1", 8001);
  root.withTag("pipeline").warn("left out Cluster a: bad");
  expect(out.map((l) => JSON.parse(l))).toEqual([{ time: "2026-01-02T03:04:05.678Z", level: "info", component: "xds", msg: "xDS server listening on 127.0.0.1:8001" }]);
  expect(err.map((l) => JSON.parse(l))).toEqual([{ time: "2026-01-02T03:04:05.678Z", level: "warn", component: "pipeline", msg: "left out Cluster a: bad" }]);
});

test("text on a terminal (auto) or by flag", () => {
  const tty = capture({ tty: true });
  tty.root.withTag("serve").info("SIGTERM received");
  expect(tty.out).toEqual(["03:04:05.678 INFO  [serve] SIGTERM received\n"]);
  const forced = capture({ format: "text" });
  forced.root.withTag("serve").error(new Error("boom"));
  expect(forced.err).toEqual(["03:04:05.678 ERROR [serve] boom\n"]);
  const json = capture({ format: "json", tty: true });
  json.root.info("x");
  expect(JSON.parse(json.out[0]!)).toMatchObject({ level: "info", msg: "x" });
});

test("the level filters: debug lines only with --log-level debug", () => {
  const info = capture({ format: "text" });
  info.root.withTag("a").debug("hidden");
  info.root.withTag("a").info("shown");
  expect(info.out).toEqual(["03:04:05.678 INFO  [a] shown\n"]);
  const debug = capture({ format: "text", level: "debug" });
  debug.root.withTag("a").debug("now shown");
  expect(debug.out).toEqual(["03:04:05.678 DEBUG [a] now shown\n"]);
  const silent = capture({ level: "silent" });
  silent.root.error("nothing");
  expect(silent.err).toEqual([]);
});

test("repeats of one tag and message within the window collapse into one line with a count", () => {
  const { root, reporter, err, advance } = capture({ format: "text", repeatWindowMs: 10_000 });
  const log = root.withTag("kubernetes");
  for (let i = 0; i < 5; i++) {
    log.warn("watch of Ingress failed: connection refused");
    advance(1000);
  }
  log.withTag("other").warn("watch of Ingress failed: connection refused");
  expect(err).toEqual(["03:04:05.678 WARN  [kubernetes] watch of Ingress failed: connection refused\n", "03:04:10.678 WARN  [kubernetes:other] watch of Ingress failed: connection refused\n"]);
  advance(6000);
  // After the window, the next occurrence first reports how many were held back.
  log.warn("watch of Ingress failed: connection refused");
  expect(err.slice(2)).toEqual([
    "03:04:16.678 WARN  [kubernetes] watch of Ingress failed: connection refused (repeated 4 more times in 10s)\n",
    "03:04:16.678 WARN  [kubernetes] watch of Ingress failed: connection refused\n",
  ]);
  log.warn("watch of Ingress failed: connection refused");
  reporter.close();
  expect(err.at(-1)).toBe("03:04:16.678 WARN  [kubernetes] watch of Ingress failed: connection refused (repeated 1 more times in 10s)\n");
});

test("JSON repeats carry the count as a field", () => {
  const { root, reporter, out } = capture({ repeatWindowMs: 10_000 });
  root.info("same");
  root.info("same");
  root.info("same");
  reporter.flush();
  expect(out.map((l) => JSON.parse(l).repeated)).toEqual([undefined, 2]);
});

test("key and certificate text never reaches the output", () => {
  const { root, out } = capture({ format: "text" });
  root.info(`bad secret: -----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY----- in default/tls`);
  expect(out[0]).toBe("03:04:05.678 INFO  bad secret: [REDACTED PEM] in default/tls\n");
});

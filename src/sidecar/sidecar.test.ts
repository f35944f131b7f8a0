// How `agent serve --envoy` finds its Envoy and where that Envoy reaches the agent.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localXdsAddress, resolveEnvoyBinary, SidecarError } from "./sidecar.ts";

describe("the agent's own Envoy", () => {
  test("reaches an agent bound to a wildcard address over loopback, else at the bound address", () => {
    expect(localXdsAddress("0.0.0.0")).toBe("127.0.0.1");
    expect(localXdsAddress("localhost")).toBe("127.0.0.1");
    expect(localXdsAddress("::")).toBe("::1");
    expect(localXdsAddress("[::1]")).toBe("::1");
    expect(localXdsAddress("127.0.0.5")).toBe("127.0.0.5");
    expect(localXdsAddress("10.1.2.3")).toBe("10.1.2.3");
  });

  test("is --envoy-bin, else $ENVOY_BIN, else the first executable envoy on PATH", () => {
    const dir = mkdtempSync(join(tmpdir(), "isobar-sidecar-"));
    try {
      const [a, b] = [join(dir, "a"), join(dir, "b")];
      for (const d of [a, b]) {
        mkdirSync(d);
        writeFileSync(join(d, "envoy"), "#!/bin/sh\n");
      }
      chmodSync(join(b, "envoy"), 0o755); // a/envoy is not executable: skipped
      const path = `${join(dir, "none")}:${a}:${b}`;
      expect(resolveEnvoyBinary(undefined, { PATH: path })).toBe(join(b, "envoy"));
      expect(resolveEnvoyBinary(undefined, { PATH: path, ENVOY_BIN: join(b, "envoy") })).toBe(join(b, "envoy"));
      expect(resolveEnvoyBinary(join(b, "envoy"), { PATH: "", ENVOY_BIN: "/nope" })).toBe(join(b, "envoy"));
      expect(() => resolveEnvoyBinary(undefined, { PATH: path, ENVOY_BIN: join(a, "envoy") })).toThrow(`--envoy: ${join(a, "envoy")} ($ENVOY_BIN) is not an executable file`);
      expect(() => resolveEnvoyBinary(undefined, { PATH: a })).toThrow(SidecarError);
      expect(() => resolveEnvoyBinary(undefined, { PATH: a })).toThrow("--envoy: no Envoy found");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, test } from "bun:test";
import {
  parseCircuitBreakers,
  parseGoDuration,
  parseNumRetries,
  parseRetryOn,
  parseTimeout,
  parseTlsVersion,
  parseUint32,
  parseUpstreamProtocols,
  parseWebsocketRoutes,
} from "./annotations.ts";

describe("durations", () => {
  test("Go durations in milliseconds", () => {
    expect(parseGoDuration("10s")).toEqual({ ok: 10_000 });
    expect(parseGoDuration("1.5s")).toEqual({ ok: 1500 });
    expect(parseGoDuration("1m30s")).toEqual({ ok: 90_000 });
    expect(parseGoDuration("250ms")).toEqual({ ok: 250 });
    expect(parseGoDuration("1h")).toEqual({ ok: 3_600_000 });
    expect(parseGoDuration("0")).toEqual({ ok: 0 });
  });

  test("what is not a Go duration", () => {
    expect(parseGoDuration("10")).toEqual({ error: 'invalid duration "10"' });
    expect(parseGoDuration("ten seconds")).toEqual({ error: 'invalid duration "ten seconds"' });
    expect(parseGoDuration("-1s")).toEqual({ error: 'invalid duration "-1s"' });
    expect(parseGoDuration("")).toEqual({ error: 'invalid duration ""' });
  });

  test('timeouts accept "infinity" as 0 (disabled)', () => {
    expect(parseTimeout("infinity")).toEqual({ ok: 0 });
    expect(parseTimeout("infinite")).toEqual({ ok: 0 });
    expect(parseTimeout("30s")).toEqual({ ok: 30_000 });
    expect("error" in parseTimeout("forever")).toBe(true);
  });
});

describe("retries", () => {
  test("retry-on keeps Envoy's conditions and reports the others", () => {
    expect(parseRetryOn("5xx, gateway-error,bogus,,5xx")).toEqual({ conditions: ["5xx", "gateway-error"], unknown: ["bogus"] });
  });

  test("num-retries: unset or 0 is 1, -1 is none", () => {
    expect(parseNumRetries(undefined)).toEqual({ ok: 1 });
    expect(parseNumRetries("0")).toEqual({ ok: 1 });
    expect(parseNumRetries("-1")).toEqual({ ok: 0 });
    expect(parseNumRetries("5")).toEqual({ ok: 5 });
    expect(parseNumRetries("five")).toEqual({ error: '"five" is not an integer' });
    expect(parseNumRetries("-3")).toEqual({ error: '"-3" is out of range' });
  });
});

test("TLS versions", () => {
  expect(parseTlsVersion("1.2")).toEqual({ ok: "1.2" });
  expect(parseTlsVersion("1.3")).toEqual({ ok: "1.3" });
  expect(parseTlsVersion("1.1")).toEqual({ error: '"1.1" is not a supported TLS version (1.2, 1.3)' });
});

test("unsigned integers", () => {
  expect(parseUint32("42")).toEqual({ ok: 42 });
  expect("error" in parseUint32("-1")).toBe(true);
  expect("error" in parseUint32("4294967296")).toBe(true);
});

test("upstream protocols by port name or number", () => {
  const protocols = parseUpstreamProtocols({
    "projectcontour.io/upstream-protocol.h2": "grpc, 8443",
    "projectcontour.io/upstream-protocol.tls": "https",
    "projectcontour.io/upstream-protocol.h2c": "",
  });
  expect([...protocols.entries()]).toEqual([
    ["grpc", "h2"],
    ["8443", "h2"],
    ["https", "tls"],
  ]);
});

test("circuit breakers: valid values kept, invalid ones reported", () => {
  expect(
    parseCircuitBreakers({
      "projectcontour.io/max-connections": "10",
      "projectcontour.io/max-pending-requests": "20",
      "projectcontour.io/max-requests": "30",
      "projectcontour.io/max-retries": "x",
      "projectcontour.io/per-host-max-connections": "5",
    }),
  ).toEqual({
    circuitBreakers: { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, perHostMaxConnections: 5 },
    invalid: ['projectcontour.io/max-retries: "x" is not an unsigned integer'],
  });
  expect(parseCircuitBreakers(undefined)).toEqual({ invalid: [] });
});

test("websocket routes", () => {
  expect([...parseWebsocketRoutes({ "projectcontour.io/websocket-routes": "/ws, /chat ,," })]).toEqual(["/ws", "/chat"]);
});

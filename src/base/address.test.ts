import { expect, test } from "bun:test";
import { hostPort, parseAddress } from "./address.ts";

test("parseAddress: IPs with or without brackets, DNS names; zone indexes and junk refused", () => {
  for (const [text, address] of [["127.0.0.1", "127.0.0.1"], ["::1", "::1"], ["[::1]", "::1"], [" [fd00::1] ", "fd00::1"], ["localhost", "localhost"], ["isobar.isobar-system.svc.", "isobar.isobar-system.svc."]]) {
    expect({ text, parsed: parseAddress(text!) }).toEqual({ text, parsed: { ok: address! } });
  }
  expect(parseAddress("::1%lo")).toEqual({ error: "zone" });
  expect(parseAddress("[fe80::1%eth0]")).toEqual({ error: "zone" });
  for (const text of ["", "[]", "[127.0.0.1]", "[localhost]", "bad name", "host:8001", "http://x", "[[::1]]"]) expect({ text, parsed: parseAddress(text) }).toEqual({ text, parsed: { error: "invalid" } });
});

test("hostPort brackets an IPv6 address exactly once", () => {
  expect(hostPort("::1", 8001)).toBe("[::1]:8001");
  expect(hostPort("[::1]", 8001)).toBe("[::1]:8001");
  expect(hostPort("127.0.0.1", "0")).toBe("127.0.0.1:0");
  expect(hostPort("localhost", 1)).toBe("localhost:1");
});

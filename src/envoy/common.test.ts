import { describe, expect, test } from "bun:test";
import { duration, enumName } from "./common.ts";

describe("common", () => {
  test("durations from milliseconds", () => {
    expect([0, 1, 250, 1000, 1500, 60_000, 90_061].map(duration)).toEqual(["0s", "0.001s", "0.25s", "1s", "1.5s", "60s", "90.061s"]);
  });

  test("enum names by value", () => {
    expect(enumName("envoy.type.v3.StatusCode", 429)).toBe("TooManyRequests");
    expect(enumName("envoy.type.v3.StatusCode", 599)).toBe(599);
  });
});

import { describe, expect, test } from "bun:test";
import { lookupType } from "../xds/registry.ts";
import { duration, enumName } from "./common.ts";
import { deprecatedFields } from "./testing.ts";

describe("common", () => {
  test("durations from milliseconds", () => {
    expect([0, 1, 250, 1000, 1500, 60_000, 90_061].map(duration)).toEqual(["0s", "0.001s", "0.25s", "1s", "1.5s", "60s", "90.061s"]);
  });

  test("enum names by value", () => {
    expect(enumName("envoy.type.v3.StatusCode", 429)).toBe("TooManyRequests");
    expect(enumName("envoy.type.v3.StatusCode", 599)).toBe(599);
  });
});

describe("test helpers", () => {
  test("deprecatedFields finds a deprecated field at any depth, through Anys", () => {
    const config = { virtual_hosts: [{ name: "a", routes: [{ route: { weighted_clusters: { total_weight: 3 } } }] }] };
    expect(deprecatedFields(lookupType("envoy.config.route.v3.RouteConfiguration"), config)).toEqual([
      "virtual_hosts.routes.route.weighted_clusters.total_weight",
    ]);
    const perFilter = { typed_per_filter_config: { x: { "@type": "type.googleapis.com/envoy.config.route.v3.VirtualHost", cors: {} } } };
    expect(deprecatedFields(lookupType("envoy.config.route.v3.VirtualHost"), perFilter)).toEqual(["typed_per_filter_config.cors"]);
  });
});

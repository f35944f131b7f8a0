import { describe, expect, test } from "bun:test";
import { buildMessage, encodeStrict, StrictProtoError } from "./registry.ts";
import { decodeToJson } from "./registry-decode.ts";

const CLUSTER = "envoy.config.cluster.v3.Cluster";

describe("strict build", () => {
  test("round-trips a cluster with an Any, a duration, an enum and a wrapper", () => {
    const cluster = {
      name: "default/echo/80",
      type: "EDS",
      connect_timeout: "2.5s",
      eds_cluster_config: { service_name: "default/echo/http", eds_config: { ads: {}, resource_api_version: "V3" } },
      per_connection_buffer_limit_bytes: 32768,
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    };
    const bytes = encodeStrict(CLUSTER, cluster);
    expect(decodeToJson(CLUSTER, bytes)).toEqual(cluster);
  });

  test("a misspelled field throws, naming its path", () => {
    expect(() => buildMessage(CLUSTER, { name: "x", conect_timeout: "1s" })).toThrow(StrictProtoError);
    expect(() => buildMessage(CLUSTER, { name: "x", conect_timeout: "1s" })).toThrow("Cluster.conect_timeout: no such field");
  });

  test("a misspelled field inside an Any throws", () => {
    const bad = {
      name: "x",
      typed_extension_protocol_options: {
        h: { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_confg: {} },
      },
    };
    expect(() => buildMessage(CLUSTER, bad)).toThrow("explicit_http_confg: no such field");
  });

  test("an unknown enum name throws", () => {
    expect(() => buildMessage(CLUSTER, { name: "x", type: "EDSS" })).toThrow('"EDSS" is not a value');
  });

  test("an Any of an unknown type throws", () => {
    expect(() => buildMessage(CLUSTER, { name: "x", typed_extension_protocol_options: { h: { "@type": "type.googleapis.com/no.Such" } } })).toThrow(
      "unknown type",
    );
  });

  test("Struct values survive the round trip", () => {
    const layer = { name: "static", static_layer: { n: 1000, s: "x", b: true, nested: { list: [1, "two", null] } } };
    const type = "envoy.config.bootstrap.v3.RuntimeLayer";
    expect(decodeToJson(type, encodeStrict(type, layer))).toEqual(layer);
  });

  test("an integer out of its type's range throws instead of wrapping", () => {
    expect(() => buildMessage(CLUSTER, { name: "x", per_connection_buffer_limit_bytes: 4294967296 })).toThrow("is not a uint32");
    expect(() => buildMessage(CLUSTER, { name: "x", per_connection_buffer_limit_bytes: -1 })).toThrow("is not a uint32");
    expect(() => buildMessage(CLUSTER, { name: "x", per_connection_buffer_limit_bytes: 1.5 })).toThrow("is not a uint32");
    expect(() => buildMessage(CLUSTER, { name: "x", circuit_breakers: { thresholds: [{ max_retries: 2 ** 32 }] } })).toThrow("is not a uint32");
    expect(() => buildMessage("envoy.config.route.v3.RetryPolicy", { num_retries: 2 ** 32 })).toThrow("is not a uint32");
    expect(decodeToJson(CLUSTER, encodeStrict(CLUSTER, { name: "x", per_connection_buffer_limit_bytes: 2 ** 32 - 1 }))).toEqual({ name: "x", per_connection_buffer_limit_bytes: 2 ** 32 - 1 });
  });

  test("a scalar of the wrong type throws", () => {
    expect(() => buildMessage(CLUSTER, { name: 5 })).toThrow("is not a string");
    expect(() => buildMessage(CLUSTER, { name: "x", respect_dns_ttl: "yes" })).toThrow("is not a bool");
  });

  test("a bad duration throws", () => {
    expect(() => buildMessage(CLUSTER, { name: "x", connect_timeout: "5 seconds" })).toThrow("bad duration");
  });
});

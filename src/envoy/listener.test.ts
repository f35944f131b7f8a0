import { describe, expect, test } from "bun:test";
import { defaultGlobalConfig } from "../config/defaults.ts";
import { resourceTypes } from "./common.ts";
import { type ListenerSettings, statsListener } from "./listener.ts";
import { expectEnvoyAccepts, httpListener, httpsListener, testCluster, testRoute, testSecret, testSecureVirtualHost, testVirtualHost, weighted } from "./testing.ts";

type J = Record<string, any>;
const LISTENER = resourceTypes.listeners;
const settings: ListenerSettings = { address: "0.0.0.0", accessLog: true, global: defaultGlobalConfig() };

const hcmOf = (chain: J): J => chain.filters[0].typed_config;
const filterNamesOf = (hcm: J): string[] => hcm.http_filters.map((f: J) => f.name);

describe("ingress_http", () => {
  test("one HTTP connection manager over RDS ingress_http, Contour's settings, router last, access log to stdout", async () => {
    const listener = (await expectEnvoyAccepts(LISTENER, httpListener(8080, [testVirtualHost("foo.com", [testRoute()])], settings))) as J;
    expect(listener.name).toBe("ingress_http");
    expect(listener.address).toEqual({ socket_address: { address: "0.0.0.0", port_value: 8080 } });
    const hcm = hcmOf(listener.filter_chains[0]);
    expect(hcm.rds).toEqual({ route_config_name: "ingress_http", config_source: { ads: {}, resource_api_version: "V3" } });
    expect(hcm.stat_prefix).toBe("ingress_http");
    expect(hcm.use_remote_address).toBe(true);
    expect(hcm.xff_num_trusted_hops).toBeUndefined();
    expect(hcm.normalize_path).toBe(true);
    expect(hcm.merge_slashes).toBe(true);
    expect(hcm.common_http_protocol_options).toEqual({ idle_timeout: "60s" });
    expect(hcm.request_timeout).toBe("0s");
    expect(hcm.access_log[0].typed_config["@type"]).toBe("type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog");
    expect(filterNamesOf(hcm)).toEqual(["envoy.filters.http.compressor", "envoy.filters.http.grpc_web", "envoy.filters.http.router"]);
  });

  test("cors, local rate limit, RBAC and the cookie Lua filter appear only when a host needs them, before the router", async () => {
    const host = testVirtualHost("foo.com", [testRoute("/", { cookieRewrites: [{ name: "s", secure: true }] })], {
      cors: { allowOrigin: ["*"], allowMethods: ["GET"], allowHeaders: [], exposeHeaders: [], allowCredentials: false },
      rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 },
      ipFilter: { allow: true, rules: [] },
    });
    const listener = (await expectEnvoyAccepts(LISTENER, httpListener(8080, [host], { ...settings, accessLog: false }))) as J;
    const hcm = hcmOf(listener.filter_chains[0]);
    expect(filterNamesOf(hcm)).toEqual([
      "envoy.filters.http.compressor",
      "envoy.filters.http.grpc_web",
      "envoy.filters.http.cors",
      "envoy.filters.http.local_ratelimit",
      "envoy.filters.http.rbac",
      "envoy.filters.http.lua",
      "envoy.filters.http.router",
    ]);
    expect(hcm.access_log).toBeUndefined();
    // The script is a constant: nothing from the host ends up in it.
    const lua = hcm.http_filters.find((f: J) => f.name === "envoy.filters.http.lua");
    expect(lua.typed_config.default_source_code.inline_string).not.toContain("\"s\"");
  });

  test("trusted hops in front of Envoy", async () => {
    const listener = (await expectEnvoyAccepts(LISTENER, httpListener(8080, [], { ...settings, global: { ...defaultGlobalConfig(), numTrustedHops: 2 } }))) as J;
    expect(hcmOf(listener.filter_chains[0]).xff_num_trusted_hops).toBe(2);
  });

  test("an IPv6 any address listens on IPv4 too", async () => {
    const listener = (await expectEnvoyAccepts(LISTENER, httpListener(8080, [], { ...settings, address: "::" }))) as J;
    expect(listener.address.socket_address).toEqual({ address: "::", port_value: 8080, ipv4_compat: true });
  });
});

describe("ingress_https", () => {
  test("TLS inspector, one chain per SNI name with the certificate by SDS, versions, ALPN, its own RDS", async () => {
    const secret = testSecret("default/foo-tls/1");
    const listener = (await expectEnvoyAccepts(
      LISTENER,
      httpsListener(
        8443,
        {
          secure: [
            testSecureVirtualHost("foo.com", [testRoute()], { secret, minTlsVersion: "1.3" }),
            testSecureVirtualHost("*.bar.com", [testRoute()]),
            testSecureVirtualHost("empty.com", []),
          ],
        },
        settings,
      ),
    )) as J;
    expect(listener.name).toBe("ingress_https");
    expect(listener.listener_filters.map((f: J) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
    expect(listener.filter_chains.map((c: J) => c.filter_chain_match)).toEqual([{ server_names: ["*.bar.com"] }, { server_names: ["foo.com"] }]);
    const foo = listener.filter_chains[1];
    expect(foo.transport_socket.typed_config).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3" },
        tls_certificate_sds_secret_configs: [{ name: secret.name, sds_config: { ads: {}, resource_api_version: "V3" } }],
        alpn_protocols: ["h2", "http/1.1"],
      },
    });
    expect(hcmOf(foo).rds.route_config_name).toBe("https/foo.com");
    expect(hcmOf(foo).stat_prefix).toBe("ingress_https");
    const bar = listener.filter_chains[0].transport_socket.typed_config.common_tls_context;
    expect(bar.tls_params.cipher_suites.length).toBeGreaterThan(0);
  });

  test("client validation: CA by SDS (joined with the CRL), skip, optional, forwarded client certificate details", async () => {
    const ca = testSecret("default/ca/1", "ca");
    const crl = testSecret("default/crl/1", "crl");
    const vhost = testSecureVirtualHost("mtls.com", [testRoute()], {
      downstreamValidation: {
        caSecret: ca,
        crlSecret: crl,
        crlOnlyVerifyLeafCert: true,
        skipClientCertValidation: false,
        optionalClientCertificate: true,
        forwardClientCertificate: { subject: true, cert: true, chain: false, dns: true, uri: false },
      },
    });
    const listener = (await expectEnvoyAccepts(LISTENER, httpsListener(8443, { secure: [vhost] }, settings))) as J;
    const chain = listener.filter_chains[0];
    const context = chain.transport_socket.typed_config;
    expect(context.require_client_certificate).toBe(false);
    // Envoy takes one SDS validation context per chain: the CA and the CRL travel in one secret.
    expect(context.common_tls_context.combined_validation_context).toEqual({
      default_validation_context: { only_verify_leaf_cert_crl: true },
      validation_context_sds_secret_config: { name: `${ca.name}+${crl.name}`, sds_config: { ads: {}, resource_api_version: "V3" } },
    });
    const hcm = hcmOf(chain);
    expect(hcm.forward_client_cert_details).toBe("SANITIZE_SET");
    expect(hcm.set_current_client_cert_details).toEqual({ subject: true, cert: true, chain: false, dns: true, uri: false });

    const skip = testSecureVirtualHost("skip.com", [testRoute()], {
      downstreamValidation: { skipClientCertValidation: true, optionalClientCertificate: false },
    });
    const skipListener = (await expectEnvoyAccepts(LISTENER, httpsListener(8443, { secure: [skip] }, settings))) as J;
    const skipContext = skipListener.filter_chains[0].transport_socket.typed_config;
    expect(skipContext.require_client_certificate).toBe(true);
    expect(skipContext.common_tls_context.validation_context).toEqual({ trust_chain_verification: "ACCEPT_UNTRUSTED" });
  });

  test("passthrough is tcp_proxy without TLS; tcpproxy on a terminated host is TLS without ALPN and tcp_proxy", async () => {
    const a = testCluster("a");
    const b = testCluster("b");
    const listener = (await expectEnvoyAccepts(
      LISTENER,
      httpsListener(
        8443,
        {
          secure: [
            testSecureVirtualHost("pass.com", [], { passthrough: true, secret: undefined, tcpProxy: { clusters: [weighted(a, 1)] } }),
            testSecureVirtualHost("tcp.com", [], { tcpProxy: { clusters: [weighted(b, 0), weighted(a, 3)] } }),
          ],
        },
        settings,
      ),
    )) as J;
    const [pass, tcp] = listener.filter_chains;
    expect(pass.transport_socket).toBeUndefined();
    expect(pass.filters[0].name).toBe("envoy.filters.network.tcp_proxy");
    expect(pass.filters[0].typed_config.cluster).toBe(a.name);
    expect(tcp.transport_socket.typed_config.common_tls_context.alpn_protocols).toBeUndefined();
    // Zero weights dropped, as Contour: only `a` remains.
    expect(tcp.filters[0].typed_config.cluster).toBe(a.name);
    expect(tcp.filters[0].typed_config.idle_timeout).toBe("9001s");
  });

  test("the fallback certificate chain has no server names and its own route configuration; client-validated hosts stay out", async () => {
    const fallback = testSecret("isobar/fallback/1");
    const listener = (await expectEnvoyAccepts(
      LISTENER,
      httpsListener(
        8443,
        {
          secure: [
            testSecureVirtualHost("a.com", [testRoute()], { fallbackCertificate: true }),
            testSecureVirtualHost("b.com", [testRoute()], {
              fallbackCertificate: true,
              downstreamValidation: { skipClientCertValidation: true, optionalClientCertificate: false },
            }),
          ],
          fallbackSecret: fallback,
        },
        settings,
      ),
    )) as J;
    const last = listener.filter_chains.at(-1);
    expect(last.name).toBe("fallback-certificate");
    expect(last.filter_chain_match).toEqual({ transport_protocol: "tls" });
    expect(last.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe(fallback.name);
    expect(hcmOf(last).rds.route_config_name).toBe("ingress_fallbackcert");
  });

  test("no TLS host: no ingress_https listener", () => {
    expect(httpsListener(8443, { secure: [testSecureVirtualHost("empty.com", [])] }, settings)).toBeUndefined();
  });
});

describe("stats-health", () => {
  test("exposes GET /ready (exact) and GET /stats (prefix) of envoy-admin, and 404 for the rest (a POST too)", async () => {
    const listener = (await expectEnvoyAccepts(LISTENER, statsListener(8002, settings))) as J;
    expect(listener.name).toBe("stats-health");
    expect(listener.address.socket_address.port_value).toBe(8002);
    const routes = hcmOf(listener.filter_chains[0]).route_config.virtual_hosts[0].routes;
    expect(routes).toEqual([
      { match: { path: "/ready", headers: [{ name: ":method", string_match: { exact: "GET" } }] }, route: { cluster: "envoy-admin" } },
      { match: { prefix: "/stats", headers: [{ name: ":method", string_match: { exact: "GET" } }] }, route: { cluster: "envoy-admin" } },
      { match: { prefix: "/" }, direct_response: { status: 404 } },
    ]);
  });
});

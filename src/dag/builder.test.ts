import { beforeAll, describe, expect, test } from "bun:test";
import { buildDag, defaultProcessors } from "./builder.ts";
import { gatewayProcessor } from "./gateway-processor.ts";
import { httpProxyProcessor } from "./httpproxy.ts";
import { simpleRoot } from "./httpproxy-testing.ts";
import { ingressProcessor } from "./ingress.ts";
import type { BuildContext, Processor } from "./processor.ts";
import type { Route } from "./types.ts";
import { fakeInput, ingress, rule, selfSignedCertificate, service, testOptions, tlsSecret } from "./testing.ts";
import type { TestCertificate } from "./testing.ts";

let cert: TestCertificate;
beforeAll(async () => {
  cert = await selfSignedCertificate("foo.com");
});

const source = { kind: "HTTPProxy", namespace: "ns", name: "p" };

function route(ctx: BuildContext, port = 80): Route {
  const cluster = ctx.cluster({ service: { namespace: "ns", name: "web", port, portName: "" }, protocol: "http1", loadBalancer: "RoundRobin" });
  return { pathMatch: { kind: "prefix", value: "/", segment: false }, headerMatches: [], queryParamMatches: [], clusters: [{ cluster, weight: 1 }], mirrors: [], source };
}

describe("buildDag", () => {
  test("runs the Ingress, then the HTTPProxy, then the Gateway API processor by default", () => {
    expect(defaultProcessors).toEqual([ingressProcessor, httpProxyProcessor, gatewayProcessor]);
    const dag = buildDag(
      fakeInput([service("ns", "web"), service("ns", "app"), ingress("ns", "a", { rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] }), simpleRoot("ns", "p", "bar.com")]),
      testOptions(),
    );
    expect([...dag.virtualHosts.keys()].sort()).toEqual(["bar.com", "foo.com"]);
  });

  test("runs the given processors in order over one context", () => {
    const seen: string[] = [];
    const first: Processor = (ctx) => {
      seen.push("first");
      ctx.virtualHost("foo.com", source).routes.push(route(ctx));
    };
    const second: Processor = (ctx) => {
      seen.push(`second saw ${ctx.dag.virtualHosts.get("foo.com")?.routes.length}`);
    };
    buildDag(fakeInput([]), testOptions(), [first, second]);
    expect(seen).toEqual(["first", "second saw 1"]);
  });

  test("prunes what no listener reaches: empty virtual hosts, unused clusters and secrets, TLS hosts without a certificate", () => {
    const dag = buildDag(fakeInput([tlsSecret("ns", "tls", cert), tlsSecret("ns", "unused", cert)]), testOptions(), [
      (ctx) => {
        ctx.virtualHost("empty.com", source);
        ctx.virtualHost("foo.com", source).routes.push(route(ctx));
        ctx.cluster({ service: { namespace: "ns", name: "dropped", port: 1, portName: "" }, protocol: "http1", loadBalancer: "RoundRobin" });
        ctx.lookupTlsSecret("ns", "unused", source);
        ctx.secureVirtualHost("nocert.com", source).routes.push(route(ctx));
        const secure = ctx.secureVirtualHost("foo.com", source);
        const tls = ctx.lookupTlsSecret("ns", "tls", source);
        if ("ok" in tls) secure.secret = tls.ok;
        secure.routes.push(route(ctx, 8080));
      },
    ]);
    expect([...dag.virtualHosts.keys()]).toEqual(["foo.com"]);
    expect([...dag.secureVirtualHosts.keys()]).toEqual(["foo.com"]);
    expect([...dag.clusters.values()].map((c) => c.service.port).sort()).toEqual([80, 8080]);
    expect([...dag.secrets.values()].map((s) => s.ref.name)).toEqual(["tls"]);
  });

  test("a passthrough TLS host with a TCP proxy is kept without a certificate", () => {
    const dag = buildDag(fakeInput([]), testOptions(), [
      (ctx) => {
        const vhost = ctx.secureVirtualHost("pass.com", source);
        vhost.passthrough = true;
        vhost.tcpProxy = { clusters: route(ctx, 443).clusters };
      },
    ]);
    expect([...dag.secureVirtualHosts.keys()]).toEqual(["pass.com"]);
    expect([...dag.clusters.values()].map((c) => c.service.port)).toEqual([443]);
  });

  test("a passthrough TLS host with routes but no TCP proxy is reported on its object, and nothing of it is served", () => {
    const dag = buildDag(fakeInput([]), testOptions(), [
      (ctx) => {
        const vhost = ctx.secureVirtualHost("pass.com", source);
        vhost.passthrough = true;
        vhost.routes.push(route(ctx, 8443));
      },
    ]);
    expect(dag.status.get(source)?.errors).toEqual([
      {
        type: "TLSError",
        reason: "TLSConfigNotValid",
        message: 'Spec.VirtualHost.TLS passthrough of "pass.com" requires Spec.TCPProxy: its routes cannot apply to passed-through TLS, so the host is not served on the TLS listener',
      },
    ]);
    expect([...dag.secureVirtualHosts.keys()]).toEqual([]);
    expect(dag.listeners.map((l) => l.name)).toEqual(["ingress_http"]);
    expect(dag.clusters.size).toBe(0);
  });

  test("the listeners are DAG nodes: names, ports, route configuration names, served hosts and chains", () => {
    const dag = buildDag(fakeInput([tlsSecret("ns", "tls", cert)]), testOptions({ listeners: { address: "::", httpPort: 18080, httpsPort: 18443 } }), [
      (ctx) => {
        ctx.virtualHost("b.com", source).routes.push(route(ctx));
        ctx.virtualHost("a.com", source).routes.push(route(ctx));
        ctx.virtualHost("empty.com", source);
        const secure = ctx.secureVirtualHost("s.com", source);
        const tls = ctx.lookupTlsSecret("ns", "tls", source);
        if ("ok" in tls) secure.secret = tls.ok;
        secure.routes.push(route(ctx));
        const pass = ctx.secureVirtualHost("pass.com", source);
        pass.passthrough = true;
        pass.tcpProxy = { clusters: route(ctx, 443).clusters };
      },
    ]);
    const [http, https] = dag.listeners;
    expect({ ...http!, virtualHosts: http!.virtualHosts.map((v) => v.name) }).toEqual({
      name: "ingress_http",
      protocol: "http",
      address: "::",
      port: 18080,
      routeConfigName: "ingress_http",
      virtualHosts: ["a.com", "b.com"],
      filterChains: [],
    });
    expect([https!.name, https!.protocol, https!.address, https!.port, https!.routeConfigName]).toEqual(["ingress_https", "https", "::", 18443, undefined]);
    expect(https!.filterChains.map((c) => [c.name, c.virtualHost.name, c.routeConfigName])).toEqual([
      ["https/pass.com", "pass.com", undefined],
      ["https/s.com", "s.com", "https/s.com"],
    ]);
    expect(https!.fallback).toBeUndefined();
  });

  describe("fallback certificate", () => {
    const wantFallback: Processor = (ctx) => {
      const vhost = ctx.secureVirtualHost("foo.com", source);
      const tls = ctx.lookupTlsSecret("ns", "tls", source);
      if ("ok" in tls) vhost.secret = tls.ok;
      vhost.fallbackCertificate = true;
      vhost.routes.push(route(ctx));
    };

    test("looked up once when a TLS host asks for it, and published with the secrets", () => {
      const dag = buildDag(fakeInput([tlsSecret("ns", "tls", cert), tlsSecret("infra", "fallback", cert)]), testOptions({ fallbackCertificate: { namespace: "infra", name: "fallback" } }), [
        wantFallback,
      ]);
      expect(dag.fallbackSecret?.ref).toEqual({ kind: "Secret", namespace: "infra", name: "fallback" });
      expect(dag.secrets.has(dag.fallbackSecret?.name as string)).toBe(true);
    });

    test("not configured or invalid: an error on the object and no fallback", () => {
      const unconfigured = buildDag(fakeInput([tlsSecret("ns", "tls", cert)]), testOptions(), [wantFallback]);
      expect(unconfigured.fallbackSecret).toBeUndefined();
      expect(unconfigured.secureVirtualHosts.get("foo.com")?.fallbackCertificate).toBe(false);
      expect(unconfigured.status.get(source)?.errors).toEqual([
        {
          type: "TLSError",
          reason: "FallbackNotValid",
          message: "Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file",
        },
      ]);
      const missing = buildDag(fakeInput([tlsSecret("ns", "tls", cert)]), testOptions({ fallbackCertificate: { namespace: "infra", name: "fallback" } }), [wantFallback]);
      expect(missing.status.get(source)?.errors[0]?.message).toBe('Spec.Virtualhost.TLS Secret "infra/fallback" fallback certificate is invalid: Secret not found');
    });

    test("configured but unused: not published", () => {
      const dag = buildDag(fakeInput([tlsSecret("infra", "fallback", cert)]), testOptions({ fallbackCertificate: { namespace: "infra", name: "fallback" } }), []);
      expect(dag.fallbackSecret).toBeUndefined();
      expect(dag.secrets.size).toBe(0);
    });
  });
});

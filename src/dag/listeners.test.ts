// The TLS listener constructor (ingress_https and a Gateway port's own): which hosts get a chain,
// under which names, and that a catch-all host (`*`) leaves no room for the fallback certificate's
// chain, which both match clients Envoy finds no SNI chain for; the hosts that wanted it are told.
import { expect, test } from "bun:test";
import { newSecureVirtualHost } from "./context.ts";
import { tlsListener } from "./listeners.ts";
import { StatusRecorder } from "./status.ts";
import type { Cluster, Secret } from "./types.ts";

const secret: Secret = { name: "infra/cert/abc", ref: { kind: "Secret", namespace: "infra", name: "cert" }, certificateChain: "", privateKey: "", kind: "tls" };
const cluster = { name: "infra/tcp/80/abc" } as Cluster;
const place = { name: "https-17443", address: "0.0.0.0", port: 17443, chainName: (fqdn: string) => `https-17443/${fqdn}` };

function hosts() {
  const catchAll = { ...newSecureVirtualHost("*"), secret, tcpProxy: { clusters: [{ cluster, weight: 1 }] }, sources: [{ kind: "TCPRoute", namespace: "infra", name: "any" }] };
  const web = { ...newSecureVirtualHost("a.example.com"), secret, fallbackCertificate: true, sources: [{ kind: "HTTPProxy", namespace: "infra", name: "web" }] };
  web.routes.push({} as never);
  const idle = newSecureVirtualHost("idle.example.com");
  return { catchAll, web, idle };
}

test("a chain per host that routes somewhere, named by the place; none for a host with nothing to serve", () => {
  const { web, idle } = hosts();
  const listener = tlsListener(place, [web, idle])!;
  expect(listener).toMatchObject({ name: "https-17443", protocol: "https", port: 17443 });
  expect(listener.filterChains.map((c) => [c.name, c.routeConfigName])).toEqual([["https-17443/a.example.com", "https-17443/a.example.com"]]);
  expect(tlsListener(place, [idle])).toBeUndefined();
});

test("the catch-all host takes the fallback certificate's place: no fallback chain, and its hosts say why", () => {
  const { catchAll, web } = hosts();
  const status = new StatusRecorder();
  const withFallback = tlsListener(place, [web], { fallbackSecret: secret, status })!;
  expect(withFallback.fallback?.virtualHosts.map((v) => v.name)).toEqual(["a.example.com"]);
  const listener = tlsListener(place, [catchAll, web], { fallbackSecret: secret, status })!;
  expect(listener.fallback).toBeUndefined();
  expect(listener.filterChains.map((c) => c.name)).toEqual(["https-17443/*", "https-17443/a.example.com"]);
  expect(status.get({ kind: "HTTPProxy", namespace: "infra", name: "web" })!.errors.map((e) => e.reason)).toEqual(["FallbackNotValid"]);
});

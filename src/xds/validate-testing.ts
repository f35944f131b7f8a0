// Realistic Envoy resources in our JSON form, as the translator writes them, for the validator's
// tests and its benchmark: each must pass Envoy's rules unchanged.

const ads = { ads: {}, resource_api_version: "V3" };
const router = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };

export function httpConnectionManager(routeConfigName: string): object {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
      stat_prefix: routeConfigName,
      rds: { route_config_name: routeConfigName, config_source: ads },
      http_filters: [router],
      use_remote_address: true,
      normalize_path: true,
      merge_slashes: true,
      common_http_protocol_options: { idle_timeout: "60s" },
      request_timeout: "0s",
      access_log: [
        {
          name: "envoy.access_loggers.stdout",
          typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog" },
        },
      ],
    },
  };
}

export function httpListener(): object {
  return {
    name: "ingress_http",
    address: { socket_address: { address: "0.0.0.0", port_value: 8080 } },
    filter_chains: [{ filters: [httpConnectionManager("ingress_http")] }],
  };
}

export function tlsFilterChain(serverName: string, secretName: string): object {
  return {
    name: `https/${serverName}`,
    filter_chain_match: { server_names: [serverName] },
    transport_socket: {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
          alpn_protocols: ["h2", "http/1.1"],
          tls_certificate_sds_secret_configs: [{ name: secretName, sds_config: ads }],
        },
      },
    },
    filters: [httpConnectionManager(`https/${serverName}`)],
  };
}

export function httpsListener(): object {
  return {
    name: "ingress_https",
    address: { socket_address: { address: "0.0.0.0", port_value: 8443 } },
    listener_filters: [
      {
        name: "envoy.filters.listener.tls_inspector",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
      },
    ],
    filter_chains: [tlsFilterChain("foo.example.com", "default/foo-tls"), tlsFilterChain("bar.example.com", "default/bar-tls")],
  };
}

export function edsCluster(name: string, options: { http2?: boolean; tls?: boolean } = {}): object {
  return {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: ads, service_name: name },
    connect_timeout: "2s",
    lb_policy: "ROUND_ROBIN",
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    circuit_breakers: { thresholds: [{ priority: "DEFAULT", max_connections: 1024, max_pending_requests: 1024, max_retries: 3 }] },
    ...(options.http2
      ? {
          typed_extension_protocol_options: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
              "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
              explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
            },
          },
        }
      : {}),
    ...(options.tls
      ? {
          transport_socket: {
            name: "envoy.transport_sockets.tls",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
              sni: "backend.default.svc",
              common_tls_context: { alpn_protocols: ["h2"] },
            },
          },
        }
      : {}),
  };
}

export function loadAssignment(clusterName: string, addresses: string[] = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]): object {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        locality: { region: "eu-west-1", zone: "eu-west-1a" },
        lb_endpoints: addresses.map((address) => ({
          endpoint: { address: { socket_address: { address, port_value: 8080 } } },
          health_status: "HEALTHY",
        })),
      },
    ],
  };
}

export function virtualHost(domain: string, cluster: string): object {
  return {
    name: domain,
    domains: [domain, `${domain}:*`],
    routes: [
      { match: { path: "/healthz" }, direct_response: { status: 200, body: { inline_string: "ok" } } },
      { match: { safe_regex: { regex: "^/api/v[0-9]+/users/[a-z0-9-]+$" } }, route: { cluster, timeout: "15s" } },
      {
        match: {
          prefix: "/",
          headers: [
            { name: "x-canary", string_match: { exact: "true" } },
            { name: "x-user", string_match: { safe_regex: { regex: "^[a-z]+$" } } },
            { name: "x-version", safe_regex_match: { regex: "^v[12]$" } },
          ],
        },
        route: {
          weighted_clusters: { clusters: [{ name: cluster, weight: 90 }, { name: `${cluster}-canary`, weight: 10 }] },
          retry_policy: { retry_on: "5xx,gateway-error", num_retries: 3, per_try_timeout: "2s" },
        },
      },
      {
        match: { prefix: "/old/" },
        route: {
          cluster,
          regex_rewrite: { pattern: { regex: "^/old/(.*)$" }, substitution: "/new/\\1" },
          upgrade_configs: [{ upgrade_type: "websocket" }],
          timeout: "0s",
        },
        request_headers_to_add: [{ header: { key: "x-forwarded-prefix", value: "/old" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
      },
      { match: { prefix: "/" }, route: { cluster, idle_timeout: "300s" } },
    ],
  };
}

export function routeConfig(name: string, hosts: number): object {
  const virtualHosts = [];
  for (let i = 0; i < hosts; i++) virtualHosts.push(virtualHost(`app${i}.example.com`, `default/app${i}/80`));
  virtualHosts.push({
    name: "redirect.example.com",
    domains: ["redirect.example.com"],
    routes: [{ match: { prefix: "/" }, redirect: { https_redirect: true, response_code: "MOVED_PERMANENTLY" } }],
  });
  return { name, virtual_hosts: virtualHosts };
}

export function tlsSecret(name: string): object {
  return {
    name,
    tls_certificate: {
      certificate_chain: { inline_string: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
      private_key: { inline_string: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n" },
    },
  };
}

// Build steps for isobar. Bun-only code lives here and in tests, never in src/.
//
//   bun run build.ts              descriptor + compiled binary (dist/agent)
//   bun run build.ts descriptor   only src/xds/generated/descriptor.json (tests need it)
//   bun run build.ts vendor       re-vendor proto/ from the pinned @grpc/grpc-js-xds package
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import { type ExtractedRules, extractValidateRules } from "./src/xds/validate-rules-extract.ts";

const here = import.meta.dir;
const protoDir = join(here, "proto");
const descriptorPath = join(here, "src/xds/generated/descriptor.json");
const validateRulesPath = join(here, "src/xds/generated/validate-rules.json");
const xdsPackage = join(here, "node_modules/@grpc/grpc-js-xds");
const upstreamDirs = ["deps/envoy-api", "deps/xds", "deps/googleapis", "deps/protoc-gen-validate"];

/** The protos the agent uses; everything they import is vendored with them. */
export const rootProtos = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/discovery/v3/discovery.proto",
  "envoy/service/listener/v3/lds.proto",
  "envoy/service/route/v3/rds.proto",
  "envoy/service/cluster/v3/cds.proto",
  "envoy/service/endpoint/v3/eds.proto",
  "envoy/service/secret/v3/sds.proto",
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/cors/v3/cors.proto",
  "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/health_check/v3/health_check.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
  "envoy/extensions/filters/http/lua/v3/lua.proto",
  "envoy/extensions/filters/http/compressor/v3/compressor.proto",
  "envoy/extensions/filters/http/stateful_session/v3/stateful_session.proto",
  "envoy/extensions/http/stateful_session/cookie/v3/cookie.proto",
  "envoy/extensions/http/stateful_session/header/v3/header.proto",
  "envoy/extensions/compression/gzip/compressor/v3/gzip.proto",
  "envoy/extensions/compression/brotli/compressor/v3/brotli.proto",
  "envoy/extensions/compression/zstd/compressor/v3/zstd.proto",
  "envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto",
  "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.proto",
  "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/extensions/access_loggers/stream/v3/stream.proto",
  "envoy/extensions/access_loggers/file/v3/file.proto",
  "envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto",
  "envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto",
  "envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto",
  "envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto",
  "envoy/extensions/load_balancing_policies/random/v3/random.proto",
  "envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto",
  "envoy/extensions/clusters/aggregate/v3/cluster.proto",
  "envoy/extensions/internal_redirect/safe_cross_scheme/v3/safe_cross_scheme_config.proto",
  "envoy/extensions/internal_redirect/previous_routes/v3/previous_routes_config.proto",
  "envoy/config/rbac/v3/rbac.proto",
  "envoy/service/status/v3/csds.proto",
  "envoy/type/matcher/v3/string.proto",
  "udpa/type/v1/typed_struct.proto",
  "xds/type/v3/typed_struct.proto",
  "google/rpc/status.proto",
];

// Well-known types (google/protobuf/*) ship with protobufjs itself; the rest come from upstream.
const isBuiltin = (path: string) => path.startsWith("google/protobuf/");

function findUpstream(path: string): string | undefined {
  for (const dir of upstreamDirs) {
    const full = join(xdsPackage, dir, path);
    if (existsSync(full)) return full;
  }
  return undefined;
}

function vendor(): void {
  if (!existsSync(xdsPackage)) throw new Error("@grpc/grpc-js-xds is not installed: run npm ci");
  const version = JSON.parse(readFileSync(join(xdsPackage, "package.json"), "utf8")).version as string;
  rmSync(protoDir, { recursive: true, force: true });
  const seen = new Set<string>();
  const queue = [...rootProtos];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const source = findUpstream(path);
    if (!source) throw new Error(`proto not found upstream: ${path}`);
    const target = join(protoDir, path);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(source, target);
    for (const match of readFileSync(source, "utf8").matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)) {
      const imported = match[1]!;
      if (!isBuiltin(imported)) queue.push(imported);
    }
  }
  cpSync(join(here, "node_modules/@grpc/grpc-js/LICENSE"), join(protoDir, "LICENSE"));
  writeFileSync(
    join(protoDir, "VERSION.md"),
    `# Vendored protos\n\nCopied verbatim by \`bun run build.ts vendor\` from the npm package ` +
      `\`@grpc/grpc-js-xds@${version}\` (folders ${upstreamDirs.join(", ")}), which ships the Envoy API ` +
      `(envoyproxy/data-plane-api), cncf/xds, googleapis and protoc-gen-validate, all under the Apache ` +
      `License 2.0 (LICENSE beside this file). Never edit these files by hand.\n\n${seen.size} files.\n`,
  );
  console.log(`vendored ${seen.size} protos from @grpc/grpc-js-xds@${version} into proto/`);
}

/** Compiles proto/ into one JSON descriptor (protobufjs form, options kept) that src/ imports. */
export function buildDescriptor(): void {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const local = join(protoDir, target);
    if (existsSync(local)) return local;
    // google/protobuf/*: protobufjs knows most by name and ships descriptor.proto as a file.
    const bundled = join(here, "node_modules/protobufjs", target);
    return existsSync(bundled) ? bundled : target;
  };
  root.loadSync(rootProtos, { keepCase: true, alternateCommentMode: false });
  root.resolveAll();
  const json = JSON.stringify(root.toJSON({ keepComments: false }));
  const newest = Math.max(...rootProtos.map((p) => statSync(join(protoDir, p)).mtimeMs));
  mkdirSync(dirname(descriptorPath), { recursive: true });
  writeValidateRules();
  if (existsSync(descriptorPath) && readFileSync(descriptorPath, "utf8") === json && statSync(descriptorPath).mtimeMs >= newest) return;
  writeFileSync(descriptorPath, json);
  console.log(`descriptor: ${(json.length / 1024).toFixed(0)} KiB -> ${descriptorPath}`);
}

/**
 * protobufjs loses some validate rules (empty aggregates such as `duration = {gt {}}`, repeated keys
 * such as `in: "a" in: "b"`), so the validator reads them from the .proto sources: every file in
 * proto/, parsed by src/xds/validate-rules-extract.ts, into generated/validate-rules.json.
 */
function writeValidateRules(): void {
  const all: ExtractedRules = { fields: {}, requiredOneofs: [] };
  const files = (readdirSync(protoDir, { recursive: true }) as string[]).filter((f) => f.endsWith(".proto")).sort();
  for (const file of files) {
    let extracted: ExtractedRules;
    try {
      extracted = extractValidateRules(readFileSync(join(protoDir, file), "utf8"));
    } catch (error) {
      throw new Error(`proto/${file}: ${(error as Error).message}`);
    }
    Object.assign(all.fields, extracted.fields);
    all.requiredOneofs.push(...extracted.requiredOneofs);
  }
  const json = JSON.stringify(all);
  if (existsSync(validateRulesPath) && readFileSync(validateRulesPath, "utf8") === json) return;
  writeFileSync(validateRulesPath, json);
  console.log(`validate rules: ${Object.keys(all.fields).length} fields, ${all.requiredOneofs.length} oneofs -> ${validateRulesPath}`);
}

async function compile(): Promise<void> {
  const result = await Bun.build({
    entrypoints: [join(here, "src/main.ts")],
    compile: { outfile: join(here, "dist/agent") },
    target: "bun",
    minify: { syntax: true, whitespace: true },
    sourcemap: "none",
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  console.log("built dist/agent");
}

if (import.meta.main) {
  const step = process.argv[2] ?? "all";
  if (step === "vendor") vendor();
  else if (step === "descriptor") buildDescriptor();
  else if (step === "all") {
    buildDescriptor();
    await compile();
  } else {
    console.error(`unknown build step: ${step} (vendor, descriptor, all)`);
    process.exit(2);
  }
}

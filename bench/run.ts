// `npm run bench -- <name|all> [options]`: runs benchmark scenarios. Each scenario is a module with
// `run(argv)`; `--smoke` (or `--size smoke`, or BENCH_SIZE=smoke) runs it at a small size for CI.
const scenarios: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  xds: () => import("./xds.ts"),
  rebuild: () => import("./rebuild.ts"),
  httpproxy: () => import("./httpproxy.ts"),
  gateway: () => import("./gateway.ts"),
  kube: () => import("./kube.ts"),
  envoy: () => import("./envoy.ts"),
  "envoy-routes": () => import("./envoy-routes.ts"),
};

const [scenario, ...argv] = process.argv.slice(2);
const chosen = scenario === "all" ? Object.keys(scenarios) : scenario && scenario in scenarios ? [scenario] : [];
if (chosen.length === 0) {
  console.error(`usage: npm run bench -- <${[...Object.keys(scenarios), "all"].join("|")}> [--smoke]`);
  process.exit(2);
}
for (const name of chosen) {
  console.error(`== bench ${name}`);
  await (await scenarios[name]!()).run(argv);
}
process.exit(0);

export {};

// `npm run bench -- <name> [options]`: runs one benchmark scenario. Each scenario is a module with
// `run(argv)`; `--smoke` (or `--size smoke`, or BENCH_SIZE=smoke) runs it at a small size for CI.
const scenarios: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  xds: () => import("./xds.ts"),
};

const [scenario, ...argv] = process.argv.slice(2);
const load = scenario ? scenarios[scenario] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(scenarios).join("|")}> [--smoke]`);
  process.exit(2);
}
await (await load()).run(argv);
process.exit(0);

export {};

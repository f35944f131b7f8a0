// The layering of src/ (ARCHITECTURE.md, "Who imports whom"), checked by dependency-cruiser in
// `npm test` (test/layering.test.ts prints each violation). dependency-cruiser reads TypeScript
// through its acorn parser here: its TypeScript parser needs the compiler API of TypeScript < 7,
// and we use 7 (a native binary without that API); the test checks that it saw every import.
// Unit tests (*.test.ts) are not cruised: nothing imports them, and a test that drives several stages
// belongs in test/.

module.exports = {
  forbidden: [
    {
      name: "no-module-cycle",
      comment: "No module imports itself through others.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-folder-cycle",
      comment: "No folder of src/ depends on itself through others: the stages form a strict order (ARCHITECTURE.md).",
      severity: "error",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "dag-not-envoy-xds",
      comment: "The DAG knows Kubernetes objects and routing, never Envoy resources or the xDS layer.",
      severity: "error",
      from: { path: "^src/dag/" },
      to: { path: "^src/(envoy|xds)/" },
    },
    {
      name: "envoy-not-xds-server",
      comment: "Translators build resources; they never reach into the gRPC server.",
      severity: "error",
      from: { path: "^src/envoy/" },
      to: { path: "^src/xds/server" },
    },
    {
      name: "only-cli-imports-cli",
      comment: "The CLI parses flags and turns errors into messages; library code raises its own errors and never imports the CLI.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli/|main\\.ts$)" },
      to: { path: "^src/cli/" },
    },
    {
      name: "src-not-test-bench",
      comment: "Shipped code never imports tests, test helpers or benchmarks.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: ["^src/xds/generated/", "\\.test\\.ts$"] },
    moduleSystems: ["es6"],
  },
};

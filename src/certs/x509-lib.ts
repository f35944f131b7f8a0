// The one way to import @peculiar/x509: it needs a Reflect metadata polyfill loaded before it
// (tsyringe inside it throws otherwise), and WebCrypto set as its provider. The dynamic import makes
// the order hold in the compiled binary too, where the bundler may otherwise hoist the library.
import "reflect-metadata";

const x509 = await import("@peculiar/x509");
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

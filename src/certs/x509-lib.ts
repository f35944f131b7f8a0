// The one way to import @peculiar/x509: it needs a Reflect metadata polyfill loaded before it
// (tsyringe inside it throws otherwise), and WebCrypto set as its provider.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

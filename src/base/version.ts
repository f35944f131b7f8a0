// The agent's version, printed by `agent --version` and sent as the xDS server's identity.
export const version = "0.1.0";

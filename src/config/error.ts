// The error of a configuration that cannot be used; its message names the setting.
export class ConfigError extends Error {
  override name = "ConfigError";
}

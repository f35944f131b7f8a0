// The base of the errors a user can act on (a bad flag, file or address; a port in use). Library
// modules throw their own subclass, named for their area (TlsSetupError, SidecarError, …); the CLI
// prints the message as one line and exits with its code, never importing the library's errors by name.

export class UserError extends Error {
  override name = "UserError";
  constructor(
    message: string,
    /** The exit code the CLI gives it: 2 bad flags or input, 1 the operation failed. */
    readonly code: 1 | 2 = 2,
  ) {
    super(message);
  }
}

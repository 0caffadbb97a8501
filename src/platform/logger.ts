/**
 * The logger platform code and job handlers write to: the part of pino's API they use. Fastify's
 * logger (`app.log`, `request.log`) and a pino logger satisfy it as they are; nothing here
 * depends on either.
 */

/** pino's call signature: an object of fields and a message, or a message alone. */
export interface LogFn {
  (fields: object, message?: string, ...args: unknown[]): void;
  (message: string, ...args: unknown[]): void;
}

export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  /** A logger that adds `bindings` to every line it writes. */
  child(bindings: Record<string, unknown>): Logger;
}

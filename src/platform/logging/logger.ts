import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import type PinoPretty from 'pino-pretty';
import type { Config } from '../../config.js';

export type LogFormat = 'pretty' | 'json';

/**
 * Readable lines for a person at a terminal in development, JSON everywhere else: production,
 * and any output read by a program (a pipe, a file, a log shipper). LOG_FORMAT overrides.
 */
export function resolveLogFormat(
  config: Pick<Config, 'logFormat' | 'nodeEnv'>,
  isTty: boolean = process.stdout.isTTY === true,
): LogFormat {
  if (config.logFormat !== 'auto') return config.logFormat;
  return config.nodeEnv !== 'production' && isTty ? 'pretty' : 'json';
}

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/** Fastify's logger options for the API and the worker: the level, the secrets kept out, the format. */
export function loggerOptions(
  config: Pick<Config, 'logFormat' | 'nodeEnv' | 'logLevel'>,
  extra: { base?: Record<string, unknown> } = {},
): LoggerOptions {
  const options: LoggerOptions = {
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    ...(extra.base ? { base: extra.base } : {}),
  };
  if (resolveLogFormat(config) === 'json') return options;
  return { ...options, stream: prettyStream() };
}

// Fields the pretty line already shows in its message, or that only a machine needs.
const SHOWN_IN_MESSAGE = 'pid,hostname,requestId,method,url,statusCode,responseTime';

/**
 * pino-pretty in this thread rather than as a transport: a transport starts a worker thread
 * (slower to start, and its last lines are lost when the process exits at once). Loaded only
 * here, so a JSON process never reads it.
 */
function prettyStream() {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pretty({
    sync: true,
    colorize: pretty.isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: SHOWN_IN_MESSAGE,
    singleLine: true,
    messageFormat: prettyMessage,
  });
}

/** `GET /api/v1/users 200 3.2 ms  req-id` for a request, the message with its id otherwise. */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const raw = log[messageKey];
  const message = typeof raw === 'string' ? raw : JSON.stringify(raw ?? '');
  const id = typeof log.requestId === 'string' ? `  ${log.requestId}` : '';
  if (typeof log.statusCode === 'number' && typeof log.method === 'string') {
    const ms = typeof log.responseTime === 'number' ? ` ${log.responseTime.toFixed(1)} ms` : '';
    const what = message === 'request completed' ? '' : ` ${message}`;
    return `${log.method} ${String(log.url)} ${log.statusCode}${ms}${what}${id}`;
  }
  if (typeof log.method === 'string') return `${message}: ${log.method} ${String(log.url)}${id}`;
  return `${message}${id}`;
}

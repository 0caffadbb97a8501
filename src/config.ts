import net from 'node:net';
import path from 'node:path';

/**
 * The one schema for the environment. Every variable the service reads is declared here,
 * with its default and a parser that explains what is wrong with a bad value.
 */

type Parser<T> = (raw: string) => T;

class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max)
      throw new Error(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };

const oneOf =
  <T extends string>(...allowed: T[]): Parser<T> =>
  (raw) => {
    if (!(allowed as string[]).includes(raw)) {
      throw new Error(`must be one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };

const url =
  (...protocols: string[]): Parser<string> =>
  (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`must be a URL, got "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return raw;
  };

const bool: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};

const text: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw;
};

/** An IP address or a CIDR range, as the proxy check accepts it (it throws on anything else). */
function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = net.isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return (
    prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128))
  );
}

/** false, true (trust every hop), a hop count, or a comma-separated list of addresses/CIDRs. */
export type TrustProxy = boolean | number | string[];
const trustProxy: Parser<TrustProxy> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (value === 'false' || value === '0' || value === '') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const list = value.split(',').map((s) => s.trim());
  if (!list.every(isAddressOrCidr)) {
    throw new Error(`must be true, false, a hop count or a list of addresses, got "${raw}"`);
  }
  return list;
};

function read<T>(env: NodeJS.ProcessEnv, name: string, parse: Parser<T>, fallback: T): T;
function read<T>(env: NodeJS.ProcessEnv, name: string, parse: Parser<T>): T | undefined;
function read<T>(env: NodeJS.ProcessEnv, name: string, parse: Parser<T>, fallback?: T) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  try {
    return parse(raw);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const dataDir = path.resolve(read(env, 'DATA_DIR', text, '.data'));
  const databaseUrl = read(env, 'DATABASE_URL', url('postgres:', 'postgresql:'));
  return {
    port: read(env, 'PORT', int(0, 65535), 3000),
    host: read(env, 'HOST', text, '127.0.0.1'),
    nodeEnv: read(env, 'NODE_ENV', oneOf('development', 'production', 'test'), 'development'),
    logLevel: read(
      env,
      'LOG_LEVEL',
      oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
      'info',
    ),
    dataDir,
    databaseUrl,
    // Embedded mode migrates itself; a shared PostgreSQL is migrated by `npm run db:migrate`.
    migrateOnStart: read(env, 'MIGRATE_ON_START', bool, databaseUrl === undefined),
    dbPoolMax: read(env, 'DB_POOL_MAX', int(1, 1000), 20),
    dbIdleTimeoutMs: read(env, 'DB_IDLE_TIMEOUT_MS', int(0, 3_600_000), 30_000),
    dbConnectTimeoutMs: read(env, 'DB_CONNECT_TIMEOUT_MS', int(1, 600_000), 2_000),
    dbStatementTimeoutMs: read(env, 'DB_STATEMENT_TIMEOUT_MS', int(0, 3_600_000), 15_000),
    redisUrl: read(env, 'REDIS_URL', url('redis:', 'rediss:')),
    trustProxy: read(env, 'TRUST_PROXY', trustProxy, false),
    bodyLimitBytes: read(env, 'BODY_LIMIT_BYTES', int(1, 100 * 1024 * 1024), 1_048_576),
    requestTimeoutMs: read(env, 'REQUEST_TIMEOUT_MS', int(0, 3_600_000), 30_000),
    shutdownTimeoutMs: read(env, 'SHUTDOWN_TIMEOUT_MS', int(100, 600_000), 10_000),
    shutdownDrainMs: read(env, 'SHUTDOWN_DRAIN_MS', int(0, 600_000), 0),
  };
}

export type Config = ReturnType<typeof loadConfig>;

/** Loads the config or stops the process with one line naming the bad variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Invalid configuration: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export { ConfigError };

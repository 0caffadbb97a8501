import { ConfigError } from '../config.js';
import { hostAndPath } from './banner.js';
import { EmbeddedDatabaseInUseError } from './db/embedded-lock.js';
import {
  DatabaseNotMigratedError,
  DuplicateMigrationVersionError,
  EmptyMigrationError,
  MigrationEditedError,
  MigrationThroughPoolerError,
} from './db/migrate.js';

/**
 * The usual reasons a process fails to start, each as one line that says what to do: a person
 * reading it needs the fix, not a stack trace. Every entry point (API, worker, CLIs) ends through
 * here; an error with no known cause keeps its stack.
 */

type Dependency =
  | 'DATABASE_URL'
  | 'DATABASE_DIRECT_URL'
  | 'REDIS_URL'
  | 'REDIS_SENTINELS'
  | 'REDIS_CLUSTER_NODES'
  | 'QUEUE_REDIS_URL';

/** A dependency that did not answer at start-up; `cause` is what its client threw. */
export class DependencyUnreachableError extends Error {
  override readonly name = 'DependencyUnreachableError';

  constructor(
    readonly variable: Dependency,
    readonly url: string,
    options: { cause: unknown },
  ) {
    super(`${variable} ${hostAndPath(url)} is unreachable`, options);
  }
}

/** Runs a dependency's first call; what it throws becomes a DependencyUnreachableError. */
export async function reach(variable: Dependency, url: string, call: () => Promise<unknown>) {
  try {
    await call();
  } catch (err) {
    throw new DependencyUnreachableError(variable, url, { cause: err });
  }
}

export interface StartupContext {
  /** The variable that sets the port this process listens on: PORT or WORKER_PORT. */
  portVariable?: 'PORT' | 'WORKER_PORT';
  /** DB_CONNECT_TIMEOUT_MS, to say how long a silent server was waited for. */
  connectTimeoutMs?: number;
}

interface SystemError {
  code?: string;
  syscall?: string;
  port?: number;
  address?: string;
  message?: string;
}

const NOT_MIGRATED = 'the database is not migrated: run `npm run db:migrate`';

/** The one line for a start-up error with a known cause; undefined for any other error. */
export function startupMessage(err: unknown, context: StartupContext = {}): string | undefined {
  if (err instanceof ConfigError) return `Invalid configuration: ${err.message}`;
  if (err instanceof EmbeddedDatabaseInUseError) return err.message;
  // Their messages are the line: which migration, and what to do instead.
  if (err instanceof MigrationEditedError) return err.message;
  if (err instanceof DuplicateMigrationVersionError) return err.message;
  if (err instanceof EmptyMigrationError) return err.message;
  if (err instanceof MigrationThroughPoolerError) return err.message;
  if (err instanceof DatabaseNotMigratedError) {
    const [first] = err.pending;
    const count = err.pending.length;
    return `${NOT_MIGRATED} (${count} migration${count === 1 ? '' : 's'} pending, from ${first})`;
  }
  if (err instanceof DependencyUnreachableError) return unreachable(err, context);
  const system = err as SystemError;
  // A schema that is not there: the tables of a database nobody migrated (42P01).
  if (system.code === '42P01') return NOT_MIGRATED;
  if (system.syscall === 'listen') return listenMessage(system, context);
  return undefined;
}

function listenMessage(err: SystemError, context: StartupContext): string | undefined {
  const variable = context.portVariable ?? 'PORT';
  const messages: Record<string, string> = {
    EADDRINUSE: `port ${err.port} is in use: stop the other process or set ${variable}=…`,
    EACCES: `port ${err.port} needs privileges this process lacks: set ${variable}= to a port above 1023`,
    EADDRNOTAVAIL: `HOST=${err.address} is not an address of this machine: set HOST=127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`,
  };
  return err.code === undefined ? undefined : messages[err.code];
}

function unreachable(err: DependencyUnreachableError, context: StartupContext): string {
  const cause = (err.cause ?? {}) as SystemError;
  const url = new URL(err.url);
  const where = hostAndPath(err.url).replace(/\/.*$/, '');
  const database = err.variable === 'DATABASE_URL' || err.variable === 'DATABASE_DIRECT_URL';
  const what = database ? 'the database' : `Redis (${err.variable})`;
  const server = database ? 'PostgreSQL' : 'Redis';
  const user = decodeURIComponent(url.username) || 'the default user';
  const name = decodeURIComponent(url.pathname.slice(1));
  const inMemory =
    err.variable !== 'QUEUE_REDIS_URL' ? ' to keep rate limits and caches in memory' : '';
  const advice = database
    ? `Check ${err.variable}`
    : `Start it, or unset ${err.variable}${inMemory}`;
  const notFound = `${what} host "${url.hostname}" was not found: check the host name in ${err.variable}`;
  const noRoute = `${what} at ${where} cannot be reached from here (${cause.code}): check the network and ${err.variable}`;
  const messages: Record<string, string> = {
    ECONNREFUSED: `${what} at ${where} refused the connection: is ${server} running and listening there? ${advice}`,
    ENOTFOUND: notFound,
    EAI_AGAIN: notFound,
    EHOSTUNREACH: noRoute,
    ENETUNREACH: noRoute,
    ETIMEDOUT: noRoute,
    // PostgreSQL's own refusals: a wrong password, a user or a database that does not exist.
    '28P01': `the database at ${where} refused the password of user "${user}": check the user and password in ${err.variable}`,
    '28000': `the database at ${where} refused user "${user}" (${cause.message}): check the user in ${err.variable} and the server's pg_hba.conf`,
    '3D000': `the database "${name}" does not exist on ${where}: create it (createdb ${name}) or fix ${err.variable}`,
  };
  const known = cause.code === undefined ? undefined : messages[cause.code];
  if (known) return known;
  const within = context.connectTimeoutMs ? ` within ${context.connectTimeoutMs} ms` : '';
  const check = `is ${server} running, and is ${where} reachable from here? ${advice}`;
  if (/timeout|timed out/i.test(cause.message ?? '')) {
    return `${what} at ${where} did not answer${within}: ${check}`;
  }
  // pg's words when its connect timeout ends a connection that never got an answer.
  if (/terminated unexpectedly/i.test(cause.message ?? '')) {
    return `${what} at ${where} closed the connection or did not answer${within}: ${check}`;
  }
  const lowerAdvice = advice[0]!.toLowerCase() + advice.slice(1);
  return `${what} at ${where} could not be reached (${cause.message ?? 'no reason given'}): ${lowerAdvice}`;
}

/**
 * For an entry point's start-up: an error with a known cause ends the process with its one line
 * on stderr and exit code 1; any other rethrows, so its stack is printed.
 */
export function exitOnStartupError(context: StartupContext = {}): (err: unknown) => never {
  return (err) => {
    const message = startupMessage(err, context);
    if (message === undefined) throw err;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  };
}

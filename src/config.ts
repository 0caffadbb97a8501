import net from 'node:net';
import path from 'node:path';
import { DEFAULT_CLOCK_SKEW_MS, REFRESH_REUSE_GRACE_MAX_MS } from './platform/auth/tokens.js';
import { checkPasswordPolicy, WeakPasswordError } from './platform/auth/password-policy.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './platform/auth/passwords.js';
import { compileBody } from './platform/http/validation.js';
import { backoffDelay, RETRYABLE_JOB_AGE_MS } from './platform/jobs/job.js';
import { Email } from './modules/users/users.schemas.js';
import { Type } from 'typebox';

/**
 * The one schema for the environment. Every variable the service reads is declared here,
 * with its default and a parser that explains what is wrong with a bad value.
 */

type Parser<T> = (raw: string) => T;

export interface ConfigProblem {
  variable: string;
  reason: string;
}

/**
 * A bad configuration: every bad variable at once, so a fix is not followed by the next refusal.
 * `variable` and the message start with the first one.
 */
class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(variable: string, reason: string, more: readonly ConfigProblem[] = []) {
    const problems = [{ variable, reason }, ...more];
    super(problems.map((p) => `${p.variable}: ${p.reason}`).join('; '));
    this.problems = problems;
  }

  get variable(): string {
    return this.problems[0]!.variable;
  }
}

/**
 * Where the problems of the loadConfig call in progress go. A bad value is recorded and its
 * default used, so the rest of the configuration is still read and checked; loadConfig throws
 * them together at its end. Outside loadConfig a problem throws at once.
 */
let collecting: ConfigProblem[] | undefined;

function problem(variable: string, reason: string): void {
  if (!collecting) throw new ConfigError(variable, reason);
  collecting.push({ variable, reason });
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

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A duration in milliseconds from `900`, `900s`, `15m`, `12h` or `7d` (a bare number is seconds). */
const duration =
  (minMs: number, maxMs: number): Parser<number> =>
  (raw) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
    if (!match) throw new Error(`must be a duration such as 900, 15m or 7d, got "${raw}"`);
    const ms = Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
    if (ms < minMs || ms > maxMs)
      throw new Error(`must be between ${minMs / 1000}s and ${maxMs / 1000}s`);
    return ms;
  };

const currency: Parser<string> = (raw) => {
  if (!/^[A-Z]{3}$/.test(raw))
    throw new Error(`must be a three-letter ISO 4217 code, got "${raw}"`);
  return raw;
};

const list: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `host:port` pairs, comma-separated (Redis sentinels, cluster seed nodes). */
const hostPorts: Parser<string[]> = (raw) => {
  const entries = list(raw);
  const bad = entries.filter((entry) => {
    const match = /^(.+):(\d+)$/.exec(entry);
    return !match || Number(match[2]) < 1 || Number(match[2]) > 65535;
  });
  if (entries.length === 0 || bad.length > 0) {
    throw new Error(`must be host:port pairs separated by commas, got "${raw}"`);
  }
  return entries;
};

const text: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw;
};

const queuePrefix: Parser<string> = (raw) => {
  if (/[{}]/.test(text(raw))) throw new Error(`must not contain { or }, got "${raw}"`);
  return raw;
};

const validEmail = compileBody(Type.Object({ email: Email }));

/**
 * An address as the API accepts one (the registration's schema and validator), in the spelling
 * the validator gives it: an ADMIN_EMAIL the login form would refuse is refused here.
 */
const email: Parser<string> = (raw) => {
  const value = { email: raw.trim() };
  if (!validEmail(value)) throw new Error(`must be an email address, got "${raw}"`);
  return value.email;
};

const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** A moment as an ISO date (`2026-12-31`, midnight UTC), an ISO date-time, or an HTTP-date. */
const date: Parser<Date> = (raw) => {
  const value = raw.trim();
  const parsed = new Date(value);
  if ((!ISO_DATE.test(value) && !HTTP_DATE.test(value)) || Number.isNaN(parsed.getTime())) {
    throw new Error(`must be an ISO date or an HTTP-date, got "${raw}"`);
  }
  return parsed;
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

/** A comma-separated list of addresses or CIDRs. */
const addressList: Parser<string[]> = (raw) => {
  const entries = list(raw);
  const bad = entries.filter((entry) => !isAddressOrCidr(entry));
  if (bad.length > 0) throw new Error(`must be addresses or CIDRs, got "${bad.join(', ')}"`);
  return entries;
};

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
    problem(name, (err as Error).message);
    return fallback;
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const outer = collecting;
  const problems: ConfigProblem[] = [];
  collecting = problems;
  try {
    const config = readConfig(env);
    const [first, ...more] = problems;
    if (first) throw new ConfigError(first.variable, first.reason, more);
    return config;
  } finally {
    collecting = outer;
  }
}

function readConfig(env: NodeJS.ProcessEnv) {
  const dataDir = path.resolve(read(env, 'DATA_DIR', text, '.data'));
  const databaseUrl = read(env, 'DATABASE_URL', url('postgres:', 'postgresql:'));
  const nodeEnv = read(env, 'NODE_ENV', oneOf('development', 'production', 'test'), 'development');
  return {
    port: read(env, 'PORT', int(0, 65535), 3000),
    host: read(env, 'HOST', text, '127.0.0.1'),
    nodeEnv,
    logLevel: read(
      env,
      'LOG_LEVEL',
      oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
      'info',
    ),
    // auto: readable lines at a terminal outside production, JSON otherwise (logging/logger.ts).
    logFormat: read(env, 'LOG_FORMAT', oneOf('auto', 'pretty', 'json'), 'auto'),
    dataDir,
    databaseUrl,
    ...poolerConfig(env, databaseUrl),
    // Embedded mode migrates itself; a shared PostgreSQL is migrated by `npm run db:migrate`.
    migrateOnStart: read(env, 'MIGRATE_ON_START', bool, databaseUrl === undefined),
    // The embedded database's buffer cache, resident once used (platform/db/pglite.ts).
    pgliteSharedBuffersMb: read(env, 'PGLITE_SHARED_BUFFERS_MB', int(1, 1024), 16),
    dbPoolMax: read(env, 'DB_POOL_MAX', int(1, 1000), 20),
    dbIdleTimeoutMs: read(env, 'DB_IDLE_TIMEOUT_MS', int(0, 3_600_000), 30_000),
    dbConnectTimeoutMs: read(env, 'DB_CONNECT_TIMEOUT_MS', int(1, 600_000), 2_000),
    dbStatementTimeoutMs: read(env, 'DB_STATEMENT_TIMEOUT_MS', int(0, 3_600_000), 15_000),
    // The longest a statement waits for a row lock (0 = no limit); then the request gets 503.
    dbLockTimeoutMs: read(env, 'DB_LOCK_TIMEOUT_MS', int(0, 3_600_000), 5_000),
    ...redisConfig(env),
    trustProxy: read(env, 'TRUST_PROXY', trustProxy, false),
    bodyLimitBytes: read(env, 'BODY_LIMIT_BYTES', int(1, 100 * 1024 * 1024), 1_048_576),
    requestTimeoutMs: read(env, 'REQUEST_TIMEOUT_MS', int(0, 3_600_000), 30_000),
    shutdownTimeoutMs: read(env, 'SHUTDOWN_TIMEOUT_MS', int(100, 600_000), 10_000),
    shutdownDrainMs: read(env, 'SHUTDOWN_DRAIN_MS', int(0, 600_000), 0),
    ...authConfig(env, nodeEnv),
    ...twoFactorConfig(env),
    ...cacheConfig(env),
    ...jobsConfig(env),
    ...commerceConfig(env),
    ...metricsConfig(env, nodeEnv),
    ...graphqlConfig(env, nodeEnv),
    ...apiConfig(env),
    ...accountEmailConfig(env),
  };
}

/** Verification, password reset and email change: their links, lifetimes, budgets and policy. */
function accountEmailConfig(env: NodeJS.ProcessEnv) {
  return {
    // The web app the emailed links open (its page POSTs the token from the link's fragment).
    publicWebUrl: read(env, 'PUBLIC_WEB_URL', url('http:', 'https:'), 'http://127.0.0.1:3000'),
    emailVerificationTtlMs: read(
      env,
      'EMAIL_VERIFICATION_TTL',
      duration(1000, 30 * 86_400_000),
      2 * 86_400_000,
    ),
    passwordResetTtlMs: read(env, 'PASSWORD_RESET_TTL', duration(1000, 86_400_000), 3_600_000),
    emailChangeTtlMs: read(env, 'EMAIL_CHANGE_TTL', duration(1000, 7 * 86_400_000), 86_400_000),
    // Deposits, transfers and orders need a verified email (the access token's claim).
    requireVerifiedEmail: read(env, 'REQUIRE_VERIFIED_EMAIL', bool, true),
    // Emails asked for (reset, resend) per address and client address, and per address overall.
    accountEmailMaxRequests: read(env, 'ACCOUNT_EMAIL_MAX_REQUESTS', int(1, 1000), 3),
    accountEmailAccountMaxRequests: read(
      env,
      'ACCOUNT_EMAIL_ACCOUNT_MAX_REQUESTS',
      int(1, 100_000),
      10,
    ),
    accountEmailWindowMs: read(env, 'ACCOUNT_EMAIL_WINDOW', duration(1000, 86_400_000), 3_600_000),
    ...tracingConfig(env),
    ...oidcConfig(env),
  };
}

const OIDC_VARIABLES = [
  'OIDC_ISSUER',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
  'OIDC_REDIRECT_URI',
] as const;

/** Loopback hosts: the only ones an http:// issuer may name (a provider in a test, on a laptop). */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** OpenID Connect sign-in: all four variables, or none (then the routes answer 404). */
function oidcConfig(env: NodeJS.ProcessEnv) {
  const oidcIssuer = read(env, 'OIDC_ISSUER', url('http:', 'https:'));
  if (oidcIssuer?.startsWith('http:') && !isLoopback(new URL(oidcIssuer).hostname)) {
    problem('OIDC_ISSUER', 'must use https: (http: only for a loopback host)');
  }
  const settings = {
    oidcIssuer,
    oidcClientId: read(env, 'OIDC_CLIENT_ID', text),
    oidcClientSecret: read(env, 'OIDC_CLIENT_SECRET', text),
    oidcRedirectUri: read(env, 'OIDC_REDIRECT_URI', url('http:', 'https:')),
    // The scopes asked for; openid is always among them, email gives the address to link by.
    oidcScopes: read(env, 'OIDC_SCOPES', list, ['openid', 'email', 'profile']),
  };
  const set = OIDC_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== '');
  if (set.length > 0) {
    for (const name of OIDC_VARIABLES.filter((name) => !set.includes(name))) {
      problem(name, `is required with ${set.join(', ')}`);
    }
  }
  if (!settings.oidcScopes.includes('openid')) problem('OIDC_SCOPES', 'must include openid');
  return settings;
}

function tracingConfig(env: NodeJS.ProcessEnv) {
  return {
    // Unset = tracing off: the SDK is never loaded and @opentelemetry/api stays a no-op.
    otelEndpoint: read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', url('http:', 'https:')),
    // Unset = stratum-api or stratum-worker, by process.
    otelServiceName: read(env, 'OTEL_SERVICE_NAME', text),
    otelBatchDelayMs: read(env, 'OTEL_BSP_SCHEDULE_DELAY', int(1, 600_000), 5_000),
  };
}

function metricsConfig(env: NodeJS.ProcessEnv, nodeEnv: string) {
  const token = read(env, 'METRICS_TOKEN', text);
  if (token !== undefined && Buffer.byteLength(token) < 16) {
    problem('METRICS_TOKEN', 'must be at least 16 bytes');
  }
  return {
    metricsEnabled: read(env, 'METRICS_ENABLED', bool, true),
    metricsToken: token,
    // In production /metrics answers only the machine itself unless told otherwise.
    metricsAllow: read(
      env,
      'METRICS_ALLOW',
      addressList,
      nodeEnv === 'production' ? ['127.0.0.0/8', '::1'] : [],
    ),
  };
}

function graphqlConfig(env: NodeJS.ProcessEnv, nodeEnv: string) {
  // A schema map and a query console help a developer; in production they help an attacker.
  const exploring = nodeEnv !== 'production';
  return {
    graphqlGraphiql: read(env, 'GRAPHQL_GRAPHIQL', bool, exploring),
    graphqlIntrospection: read(env, 'GRAPHQL_INTROSPECTION', bool, exploring),
    graphqlMaxDepth: read(env, 'GRAPHQL_MAX_DEPTH', int(1, 100), 8),
    graphqlMaxAliases: read(env, 'GRAPHQL_MAX_ALIASES', int(0, 1000), 20),
    graphqlMaxCost: read(env, 'GRAPHQL_MAX_COST', int(1, 10_000_000), 5_000),
    // What one `__schema` or `__type` field costs: one walk of the schema (see limits.ts).
    graphqlIntrospectionCost: read(env, 'GRAPHQL_INTROSPECTION_COST', int(0, 10_000_000), 1_000),
    // The cost bounds the work; this bounds what leaves the process, whatever the cost missed.
    graphqlMaxResponseBytes: read(
      env,
      'GRAPHQL_MAX_RESPONSE_BYTES',
      int(1, 1024 * 1024 * 1024),
      4 * 1024 * 1024,
    ),
    // 0 = off; N = a query text is compiled with graphql-jit on its (N+1)th use. 10 leaves
    // one-off documents (ids written into the text) to graphql-js, which compiling would not pay for.
    graphqlJit: read(env, 'GRAPHQL_JIT', int(0, 1_000_000), 10),
  };
}

function apiConfig(env: NodeJS.ProcessEnv) {
  const apiV1Deprecation = read(env, 'API_V1_DEPRECATION', date);
  const apiV1Sunset = read(env, 'API_V1_SUNSET', date);
  // RFC 9745: a resource is not retired before it is deprecated.
  if (apiV1Deprecation && apiV1Sunset && apiV1Sunset < apiV1Deprecation) {
    problem('API_V1_SUNSET', 'must not be before API_V1_DEPRECATION');
  }
  return {
    // v2 lists count exactly up to this many rows and answer PostgreSQL's estimate above.
    apiExactCountLimit: read(env, 'API_EXACT_COUNT_LIMIT', int(0, 10_000_000), 10_000),
    // A search ranks at most this many of its newest matches, and counts exactly up to it:
    // what bounds the work of a search for common words.
    searchRankLimit: read(env, 'SEARCH_RANK_LIMIT', int(1, 100_000), 200),
    // When set, v1 responses carry Deprecation (RFC 9745) / Sunset (RFC 8594) headers.
    apiV1Deprecation,
    apiV1Sunset,
    // Where the retirement is explained: sent as Link rel="deprecation" (and rel="sunset").
    apiV1DeprecationLink: read(env, 'API_V1_DEPRECATION_LINK', url('http:', 'https:')),
  };
}

function commerceConfig(env: NodeJS.ProcessEnv) {
  return {
    // The currency of the wallets opened at registration and of the system accounts.
    defaultCurrency: read(env, 'DEFAULT_CURRENCY', currency, 'USD'),
    idempotencyKeyTtlMs: read(
      env,
      'IDEMPOTENCY_KEY_TTL',
      duration(60_000, 30 * 86_400_000),
      86_400_000,
    ),
    // The group commit: the most money movements (transfers, deposits, orders' payments with
    // their orders) in one statement and commit (1: each
    // its own), and the microseconds a batch waits for more (0: only those that arrived while
    // the batch before it ran).
    moneyBatchMax: read(env, 'MONEY_BATCH_MAX', int(1, 1000), 64),
    moneyBatchWaitUs: read(env, 'MONEY_BATCH_WAIT', int(0, 100_000), 0),
    // How often each process releases holds past their expiry: the longest an expired hold
    // keeps its funds reserved beyond its expiry (apart from the sweep's own time).
    holdSweepIntervalMs: read(env, 'HOLD_SWEEP_INTERVAL_MS', int(100, 3_600_000), 5_000),
  };
}

/**
 * Where Redis is: one server (REDIS_URL), a master found through Sentinel (REDIS_SENTINELS and
 * REDIS_SENTINEL_MASTER) or a Redis Cluster (REDIS_CLUSTER_NODES); at most one of the three.
 * See docs/operations/redis-ha.md.
 */
function redisConfig(env: NodeJS.ProcessEnv) {
  const redisUrl = read(env, 'REDIS_URL', url('redis:', 'rediss:'));
  const redisSentinels = read(env, 'REDIS_SENTINELS', hostPorts, []);
  const redisSentinelMaster = read(env, 'REDIS_SENTINEL_MASTER', text);
  const redisClusterNodes = read(env, 'REDIS_CLUSTER_NODES', hostPorts, []);
  const chosen = [
    redisUrl && 'REDIS_URL',
    redisSentinels.length > 0 && 'REDIS_SENTINELS',
    redisClusterNodes.length > 0 && 'REDIS_CLUSTER_NODES',
  ].filter(Boolean);
  if (chosen.length > 1) {
    problem(chosen[1] as string, `must not be set together with ${chosen[0] as string}`);
  }
  if (redisSentinels.length > 0 && !redisSentinelMaster) {
    problem('REDIS_SENTINEL_MASTER', 'is required with REDIS_SENTINELS (the monitored name)');
  }
  if (redisSentinelMaster && redisSentinels.length === 0) {
    problem('REDIS_SENTINELS', 'is required with REDIS_SENTINEL_MASTER');
  }
  return {
    redisUrl,
    redisSentinels,
    redisSentinelMaster,
    // For the sentinels themselves (their requirepass); the data nodes use REDIS_PASSWORD.
    redisSentinelPassword: read(env, 'REDIS_SENTINEL_PASSWORD', text),
    // The data nodes' password with Sentinel or Cluster (REDIS_URL carries its own).
    redisPassword: read(env, 'REDIS_PASSWORD', text),
    redisClusterNodes,
    // Writes that must outlive a failover (revocations, relayed jobs) wait until this many
    // replicas have them. A Sentinel setup has replicas by definition; a cluster may not.
    redisWaitReplicas: read(
      env,
      'REDIS_WAIT_REPLICAS',
      int(0, 16),
      redisSentinels.length > 0 ? 1 : 0,
    ),
    redisWaitTimeoutMs: read(env, 'REDIS_WAIT_TIMEOUT_MS', int(1, 60_000), 250),
  };
}

/** The configuration with Redis switched off: for the commands that need only the database. */
export function withoutRedis<T extends Config>(config: T): T {
  return {
    ...config,
    redisUrl: undefined,
    redisSentinels: [],
    redisSentinelMaster: undefined,
    redisClusterNodes: [],
    queueRedisUrl: undefined,
  };
}

/** True when some form of Redis (a server, Sentinel or a cluster) is configured. */
export function redisConfigured(
  config: Pick<Config, 'redisUrl' | 'redisSentinels' | 'redisClusterNodes'>,
): boolean {
  return (
    config.redisUrl !== undefined ||
    config.redisSentinels.length > 0 ||
    config.redisClusterNodes.length > 0
  );
}

function cacheConfig(env: NodeJS.ProcessEnv) {
  return {
    // Every Redis command gives up after this: a slow Redis must not hold requests.
    redisCommandTimeoutMs: read(env, 'REDIS_COMMAND_TIMEOUT_MS', int(10, 60_000), 500),
    cacheUserTtlMs: read(env, 'CACHE_USER_TTL_S', int(1, 7 * 86_400), 1800) * 1000,
    cacheNegativeTtlMs: read(env, 'CACHE_NEGATIVE_TTL_S', int(1, 3600), 30) * 1000,
    cacheMaxEntries: read(env, 'CACHE_MAX_ENTRIES', int(100, 10_000_000), 10_000),
    // false: no cache at all (every read goes to the database), for honest uncached figures.
    cacheEnabled: read(env, 'CACHE_ENABLED', bool, true),
    // The in-process level in front of Redis (only with REDIS_URL); 0 entries turns it off.
    cacheL1MaxEntries: read(env, 'CACHE_L1_MAX_ENTRIES', int(0, 1_000_000), 10_000),
    cacheL1MaxBytes: read(
      env,
      'CACHE_L1_MAX_BYTES',
      int(65_536, 1024 * 1024 * 1024),
      8 * 1024 * 1024,
    ),
    cacheL1TtlMs: read(env, 'CACHE_L1_TTL_MS', int(100, 3_600_000), 60_000),
    // The longest a process may serve an L1 entry after a write elsewhere was acknowledged.
    cacheL1StalenessMs: read(env, 'CACHE_L1_STALENESS_MS', int(20, 60_000), 500),
    flushIntervalMs: read(env, 'FLUSH_INTERVAL_MS', int(100, 3_600_000), 5000),
  };
}

function jobsConfig(env: NodeJS.ProcessEnv) {
  const retry = {
    jobAttempts: read(env, 'JOB_ATTEMPTS', int(1, 100), 3),
    jobBackoffMs: read(env, 'JOB_BACKOFF_MS', int(1, 3_600_000), 2_000),
  };
  return {
    ...retry,
    ...retentionConfig(env, { attempts: retry.jobAttempts, backoffMs: retry.jobBackoffMs }),
    // BullMQ may live on its own Redis (blocking connections, other eviction policy).
    queueRedisUrl: read(env, 'QUEUE_REDIS_URL', url('redis:', 'rediss:')),
    // Each queue's keys go under `<prefix>:{<queue>}`: one cluster slot per queue. A brace of
    // its own in the prefix would replace that hash tag and put every queue in one slot.
    queuePrefix: read(env, 'QUEUE_PREFIX', queuePrefix, 'stratum'),
    outboxPollMs: read(env, 'OUTBOX_POLL_MS', int(10, 3_600_000), 1_000),
    workerConcurrency: read(env, 'WORKER_CONCURRENCY', int(1, 1000), 5),
    // 0 = no health endpoint.
    workerPort: read(env, 'WORKER_PORT', int(0, 65535), 0),
    workerShutdownTimeoutMs: read(env, 'WORKER_SHUTDOWN_TIMEOUT_MS', int(100, 600_000), 30_000),
    // A job whose worker stopped renewing its lock for this long is taken over by another.
    workerLockDurationMs: read(env, 'WORKER_LOCK_DURATION_MS', int(100, 3_600_000), 30_000),
    workerStalledIntervalMs: read(env, 'WORKER_STALLED_INTERVAL_MS', int(100, 3_600_000), 30_000),
    // Readiness turns 503 when jobs wait and none finished for this long.
    workerStuckAfterMs: read(env, 'WORKER_STUCK_AFTER_MS', int(100, 86_400_000), 60_000),
    smtpUrl: read(env, 'SMTP_URL', url('smtp:', 'smtps:')),
    mailFrom: read(env, 'MAIL_FROM', text, 'Stratum <no-reply@stratum.local>'),
  };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** How long finished bookkeeping rows stay before the pruner deletes them. */
function retentionConfig(env: NodeJS.ProcessEnv, retry: { attempts: number; backoffMs: number }) {
  // A delivery row is what stops a job from mailing twice, so it must outlive every run of its
  // job: the retries (the backoffs between attempts), then a dead job stays retryable from the
  // dashboard for RETRYABLE_JOB_AGE_MS. A day on top covers the time a job waits for a worker.
  let retrySpanMs = 0;
  for (let attempt = 1; attempt < retry.attempts; attempt++) {
    retrySpanMs += backoffDelay(retry, attempt);
  }
  // A retry policy spanning years (JOB_ATTEMPTS=100) is held by the ten-year ceiling.
  const deliveryMaxMs = 10 * 365 * DAY_MS;
  const deliveryFloorMs = Math.min(RETRYABLE_JOB_AGE_MS + retrySpanMs + DAY_MS, deliveryMaxMs);
  return {
    // Sent and dead outbox rows; pending ones are never pruned.
    outboxRetentionMs: read(env, 'OUTBOX_RETENTION_MS', int(HOUR_MS, 365 * DAY_MS), 7 * DAY_MS),
    deliveryRetentionMs: read(
      env,
      'DELIVERY_RETENTION_MS',
      int(deliveryFloorMs, deliveryMaxMs),
      Math.max(14 * DAY_MS, deliveryFloorMs),
    ),
    // A batch applied but not acked in Redis (a crash in between) is applied again by the next
    // flush after its lease, and must find its record then; an hour is far past any lease.
    viewFlushRetentionMs: read(
      env,
      'VIEW_FLUSH_RETENTION_MS',
      int(HOUR_MS, 365 * DAY_MS),
      7 * DAY_MS,
    ),
    // Ended and expired login sessions (and their refresh tokens) are deleted after this.
    sessionRetentionMs: read(
      env,
      'SESSION_RETENTION',
      duration(HOUR_MS, 365 * DAY_MS),
      30 * DAY_MS,
    ),
    // The security log: long enough to look back on a breach found months later.
    securityLogRetentionMs: read(
      env,
      'SECURITY_LOG_RETENTION',
      duration(DAY_MS, 10 * 365 * DAY_MS),
      365 * DAY_MS,
    ),
    pruneIntervalMs: read(env, 'PRUNE_INTERVAL_MS', int(1000, DAY_MS), 10 * 60_000),
    // Rows per DELETE: each statement holds its locks only that long.
    pruneBatchSize: read(env, 'PRUNE_BATCH_SIZE', int(1, 100_000), 1000),
  };
}

function authConfig(env: NodeJS.ProcessEnv, nodeEnv: string) {
  const jwtSecret = read(env, 'JWT_SECRET', text);
  if (nodeEnv === 'production' && Buffer.byteLength(jwtSecret ?? '') < 32) {
    problem(
      'JWT_SECRET',
      jwtSecret ? 'must be at least 32 bytes in production' : 'is required in production',
    );
  }
  const adminEmail = read(env, 'ADMIN_EMAIL', email);
  const adminPassword = read(env, 'ADMIN_PASSWORD', text);
  if (adminEmail && !adminPassword) problem('ADMIN_PASSWORD', 'is required with ADMIN_EMAIL');
  if (adminPassword) {
    const length = adminPassword.length;
    if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
      problem(
        'ADMIN_PASSWORD',
        `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
      );
    } else {
      const weakness = checkPasswordPolicy(adminPassword, { email: adminEmail });
      if (weakness) problem('ADMIN_PASSWORD', new WeakPasswordError(weakness).message);
    }
  }
  return {
    jwtSecret,
    jwtAlgorithm: read(env, 'JWT_ALGORITHM', oneOf('HS256', 'HS384', 'HS512'), 'HS256'),
    jwtIssuer: read(env, 'JWT_ISSUER', text, 'stratum'),
    jwtAudience: read(env, 'JWT_AUDIENCE', text, 'stratum-api'),
    jwtAccessTtlMs: read(env, 'JWT_ACCESS_TTL', duration(10_000, 86_400_000), 15 * 60_000),
    jwtRefreshTtlMs: read(
      env,
      'JWT_REFRESH_TTL',
      duration(60_000, 365 * 86_400_000),
      7 * 86_400_000,
    ),
    // How far another host's clock may run ahead: an access token issued up to this far in the
    // future is accepted, and its lifetime is bounded by JWT_ACCESS_TTL plus this.
    jwtClockSkewMs: read(env, 'JWT_CLOCK_SKEW', duration(0, 5 * 60_000), DEFAULT_CLOCK_SKEW_MS),
    // A spent refresh token back within this window (a client racing itself) gets the same
    // successor instead of revoking its session; 0 = every reuse revokes.
    jwtRefreshReuseGraceMs: read(
      env,
      'JWT_REFRESH_REUSE_GRACE',
      duration(0, REFRESH_REUSE_GRACE_MAX_MS),
      5_000,
    ),
    // The load shedder (docs/patterns/load-shedding.md): 0 turns a limit or a threshold off.
    loadShedding: {
      maxInFlight: read(env, 'LOAD_SHED_MAX_IN_FLIGHT', int(0, 1_000_000), 256),
      criticalInFlight: read(env, 'LOAD_SHED_CRITICAL_IN_FLIGHT', int(0, 1_000_000), 128),
      maxEventLoopDelayMs: read(env, 'LOAD_SHED_EVENT_LOOP_DELAY_MS', int(0, 60_000), 1_000),
      maxHeapRatio: read(env, 'LOAD_SHED_HEAP_PERCENT', int(0, 100), 90) / 100,
      maxPoolWaiting: read(env, 'LOAD_SHED_POOL_WAITING', int(0, 1_000_000), 100),
      retryAfterS: read(env, 'LOAD_SHED_RETRY_AFTER_S', int(1, 3600), 1),
      sampleIntervalMs: 500,
    },
    // After this long without a request, one full garbage collection gives back what the last
    // load left in the heap (src/platform/http/idle-memory.ts); 0 = never.
    memoryIdleGcMs: read(env, 'MEMORY_IDLE_GC_MS', int(0, 3_600_000), 10_000),
    rateLimitMax: read(env, 'RATE_LIMIT_MAX', int(1, 1_000_000), 100),
    rateLimitWindowMs: read(env, 'RATE_LIMIT_WINDOW_MS', int(1000, 86_400_000), 60_000),
    loginMaxFailures: read(env, 'LOGIN_MAX_FAILURES', int(1, 1000), 5),
    loginWindowMs: read(env, 'LOGIN_WINDOW_MS', int(1000, 86_400_000), 15 * 60_000),
    // Failed attempts per account from addresses it never signed in from, in the same window.
    loginAccountMaxFailures: read(env, 'LOGIN_ACCOUNT_MAX_FAILURES', int(1, 100_000), 20),
    // How long a successful sign-in exempts its address from that account-wide budget.
    loginFamiliarTtlMs: read(
      env,
      'LOGIN_FAMILIAR_TTL',
      duration(60_000, 365 * 86_400_000),
      30 * 86_400_000,
    ),
    corsOrigins: read(env, 'CORS_ORIGINS', list, []),
    adminEmail,
    adminPassword,
  };
}

/** PostgreSQL behind a transaction pooler (PgBouncer); docs/operations/production.md. */
function poolerConfig(env: NodeJS.ProcessEnv, databaseUrl: string | undefined) {
  // transaction: DATABASE_URL is a pooler that hands a server connection out per transaction,
  // so nothing may outlive one: no named prepared statement, no start-up parameter.
  const dbPooler = read(env, 'DB_POOLER', oneOf('none', 'transaction'), 'none');
  // The database itself, not the pooler: migrations hold their lock and run their DDL here.
  const databaseDirectUrl = read(env, 'DATABASE_DIRECT_URL', url('postgres:', 'postgresql:'));
  if (!databaseUrl && dbPooler !== 'none') problem('DB_POOLER', 'needs DATABASE_URL (the pooler)');
  if (!databaseUrl && databaseDirectUrl) problem('DATABASE_DIRECT_URL', 'needs DATABASE_URL');
  return { dbPooler, databaseDirectUrl, ...replicaConfig(env, databaseUrl) };
}

/** Streaming standbys for the reads marked replica-safe (src/platform/db/replicas.ts). */
function replicaConfig(env: NodeJS.ProcessEnv, databaseUrl: string | undefined) {
  const databaseReplicaUrls = read(env, 'DATABASE_REPLICA_URLS', list, []);
  for (const replica of databaseReplicaUrls) {
    try {
      url('postgres:', 'postgresql:')(replica);
    } catch (err) {
      problem('DATABASE_REPLICA_URLS', (err as Error).message);
    }
  }
  if (!databaseUrl && databaseReplicaUrls.length > 0) {
    problem('DATABASE_REPLICA_URLS', 'needs DATABASE_URL (the primary)');
  }
  return {
    databaseReplicaUrls,
    // A replica further behind the primary than this serves nobody until it catches up.
    dbReplicaMaxLagMs: read(env, 'DB_REPLICA_MAX_LAG_MS', int(10, 600_000), 1_000),
    // How often each replica's replay position (and the primary's) is read.
    dbReplicaPollMs: read(env, 'DB_REPLICA_POLL_MS', int(10, 60_000), 100),
  };
}

/** Two-factor sign-in (TOTP); see docs/accounts/two-factor.md. */
function twoFactorConfig(env: NodeJS.ProcessEnv) {
  return {
    // The name an authenticator app shows beside the account (the otpauth:// URI's issuer).
    twoFactorIssuer: read(env, 'TWO_FACTOR_ISSUER', text, 'Stratum'),
    // Steps of 30 s accepted either side of now: a phone's clock a little off still signs in.
    twoFactorWindow: read(env, 'TWO_FACTOR_WINDOW', int(0, 10), 1),
    // How long the step token between the password and the code lives; enrolment tokens too.
    twoFactorStepTtlMs: read(env, 'TWO_FACTOR_STEP_TTL', duration(30_000, 30 * 60_000), 5 * 60_000),
    // required: an admin without two-factor may sign in only to enrol in it.
    adminTwoFactor: read(env, 'ADMIN_TWO_FACTOR', oneOf('optional', 'required'), 'optional'),
  };
}

export type Config = ReturnType<typeof readConfig>;

/** Loads the config or stops the process with one line naming every bad variable. */
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

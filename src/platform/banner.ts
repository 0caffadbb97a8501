import path from 'node:path';
import type { Config } from '../config.js';
import { resolveLogFormat } from './logging/logger.js';

/**
 * What a person needs after `npm start`: where to point a browser, where the data and the mail
 * go, and how to get an admin account. Printed once, after listen; as one structured line when
 * the logs are JSON.
 */

export interface StartFacts {
  api: string;
  docs: string;
  /** Absent when GRAPHQL_GRAPHIQL is off (the production default). */
  graphiql?: string;
  /** Absent when METRICS_ENABLED is off. */
  metrics?: string;
  data: string;
  redis: string;
  jobs: string;
  mail: string;
  admin: string;
}

type BannerConfig = Pick<
  Config,
  | 'nodeEnv'
  | 'dataDir'
  | 'databaseUrl'
  | 'redisUrl'
  | 'redisSentinels'
  | 'redisSentinelMaster'
  | 'redisClusterNodes'
  | 'queueRedisUrl'
  | 'smtpUrl'
  | 'graphqlGraphiql'
  | 'metricsEnabled'
  | 'adminEmail'
>;

const USER_CREATE = "npm run user:create -- --email you@example.com --role admin --password '…'";

export function startFacts(config: BannerConfig, apiUrl: string): StartFacts {
  const embedded = !config.databaseUrl;
  const redis = redisWhere(config);
  return {
    api: apiUrl,
    docs: `${apiUrl}/docs`,
    ...(config.graphqlGraphiql ? { graphiql: `${apiUrl}/graphiql` } : {}),
    ...(config.metricsEnabled ? { metrics: `${apiUrl}/metrics` } : {}),
    data: config.databaseUrl
      ? `PostgreSQL at ${hostAndPath(config.databaseUrl)}`
      : `embedded PostgreSQL (PGlite) in ${displayPath(path.join(config.dataDir, 'pglite'))}`,
    redis: redis ?? 'none: rate limits, login throttling and caches live in this process',
    jobs: config.queueRedisUrl
      ? `BullMQ on Redis at ${hostAndPath(config.queueRedisUrl)}: run \`npm run worker\``
      : redis
        ? `BullMQ on ${redis}: run \`npm run worker\``
        : 'run in this process',
    mail: config.smtpUrl
      ? `SMTP at ${hostAndPath(config.smtpUrl)}`
      : `.eml files in ${displayPath(path.join(config.dataDir, 'mail'))}`,
    admin: adminHint(config, embedded),
  };
}

function redisWhere(config: BannerConfig): string | undefined {
  if (config.redisUrl) return `Redis at ${hostAndPath(config.redisUrl)}`;
  if (config.redisSentinels.length > 0) {
    return `Redis master "${config.redisSentinelMaster}" through Sentinel at ${config.redisSentinels.join(', ')}`;
  }
  if (config.redisClusterNodes.length > 0) {
    return `Redis Cluster at ${config.redisClusterNodes.join(', ')}`;
  }
  return undefined;
}

function adminHint(config: BannerConfig, embedded: boolean): string {
  if (config.adminEmail) return `${config.adminEmail} (ADMIN_EMAIL)`;
  const bootstrap = 'or set ADMIN_EMAIL and ADMIN_PASSWORD and restart';
  // PGlite allows one process: the command would be refused while this server holds the folder.
  if (embedded) return `stop the server, run \`${USER_CREATE}\`, start again; ${bootstrap}`;
  return `\`${USER_CREATE}\`, ${bootstrap}`;
}

const LABELS: [keyof StartFacts, string][] = [
  ['api', 'API'],
  ['docs', 'docs'],
  ['graphiql', 'GraphiQL'],
  ['metrics', 'metrics'],
  ['data', 'data'],
  ['redis', 'Redis'],
  ['jobs', 'jobs'],
  ['mail', 'mail'],
  ['admin', 'admin'],
];

/** The banner as lines for a terminal. */
export function bannerText(facts: StartFacts, nodeEnv: string): string {
  const width = Math.max(...LABELS.map(([, label]) => label.length));
  const lines = LABELS.filter(([key]) => facts[key] !== undefined).map(
    ([key, label]) => `  ${label.padEnd(width)}  ${facts[key]}`,
  );
  return [`Stratum is running (${nodeEnv})`, ...lines].join('\n') + '\n';
}

const DEFAULT_PORTS: Record<string, string> = {
  'postgres:': '5432',
  'postgresql:': '5432',
  'redis:': '6379',
  'rediss:': '6379',
  'smtp:': '587',
  'smtps:': '465',
};

/** host:port/path of a URL, never its user or password. */
export function hostAndPath(raw: string): string {
  const url = new URL(raw);
  const port = url.port || DEFAULT_PORTS[url.protocol];
  const where = url.pathname.length > 1 ? url.pathname : '';
  return `${url.hostname}${port ? `:${port}` : ''}${where}`;
}

/** The URL a browser on this machine reaches: a wildcard address is reached as localhost. */
export function apiUrlOf(host: string, port: number): string {
  const name = ['0.0.0.0', '::', ''].includes(host) ? 'localhost' : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** Prints the banner: lines for a person, or one log line with the same facts for a program. */
export function announceStart(
  config: BannerConfig & Pick<Config, 'logFormat' | 'host'>,
  port: number,
  log: { info(facts: object, message: string): void },
) {
  const facts = startFacts(config, apiUrlOf(config.host, port));
  if (resolveLogFormat(config) === 'pretty')
    process.stdout.write(bannerText(facts, config.nodeEnv));
  else log.info(facts, 'Stratum is running');
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * Every Redis connection of the service is made here, from one description of where Redis is:
 * one server, a master found through Sentinel, or a Redis Cluster. The cache, the rate limiter,
 * the login throttle, the deny list, BullMQ and every subscriber (a `duplicateClient` of one of
 * these) get theirs from this module, so a topology is chosen once.
 */

/** A connection to one server (directly or through Sentinel) or to a cluster. */
export type RedisClient = Redis | Cluster;

export type RedisTopology =
  | { kind: 'single'; url: string }
  | {
      kind: 'sentinel';
      sentinels: string[];
      master: string;
      sentinelPassword?: string;
      password?: string;
    }
  | { kind: 'cluster'; nodes: string[]; password?: string };

export interface TopologySettings {
  redisUrl?: string;
  redisSentinels: string[];
  redisSentinelMaster?: string;
  redisSentinelPassword?: string;
  redisPassword?: string;
  redisClusterNodes: string[];
}

/** The topology the settings describe (config.ts lets at most one of the three through). */
export function redisTopology(settings: TopologySettings): RedisTopology | undefined {
  if (settings.redisSentinels.length > 0 && settings.redisSentinelMaster) {
    return {
      kind: 'sentinel',
      sentinels: settings.redisSentinels,
      master: settings.redisSentinelMaster,
      sentinelPassword: settings.redisSentinelPassword,
      password: settings.redisPassword,
    };
  }
  if (settings.redisClusterNodes.length > 0) {
    return { kind: 'cluster', nodes: settings.redisClusterNodes, password: settings.redisPassword };
  }
  return settings.redisUrl ? { kind: 'single', url: settings.redisUrl } : undefined;
}

/** The variable a topology comes from and an address for start-up messages. */
export function topologySource(topology: RedisTopology): {
  variable: 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_CLUSTER_NODES';
  url: string;
} {
  switch (topology.kind) {
    case 'single':
      return { variable: 'REDIS_URL', url: topology.url };
    case 'sentinel':
      return { variable: 'REDIS_SENTINELS', url: `redis://${topology.sentinels[0]}` };
    case 'cluster':
      return { variable: 'REDIS_CLUSTER_NODES', url: `redis://${topology.nodes[0]}` };
  }
}

function hostPort(entry: string): { host: string; port: number } {
  const colon = entry.lastIndexOf(':');
  return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
}

/**
 * What a connection is for:
 * - `fail-fast` (cache, limiter, throttle, deny list): a command fails at once while Redis is
 *   away (each of them has its own fallback) and gives up after `commandTimeoutMs`;
 * - `queue` (BullMQ): commands wait out a reconnect or a failover, as BullMQ's blocking
 *   commands require (`maxRetriesPerRequest: null`).
 */
export type ConnectionRole = 'fail-fast' | 'queue';

/**
 * Reconnect attempts at most this far apart: after an outage every process is back within it,
 * which bounds how long a failed cache invalidation waits for its retry.
 */
export const REDIS_RECONNECT_MAX_MS = 1_000;

export interface ConnectSettings {
  connectTimeoutMs: number;
  commandTimeoutMs?: number;
}

function roleOptions(role: ConnectionRole, settings: ConnectSettings): RedisOptions {
  return role === 'queue'
    ? { maxRetriesPerRequest: null, connectTimeout: settings.connectTimeoutMs }
    : {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: settings.connectTimeoutMs,
        commandTimeout: settings.commandTimeoutMs,
        // Commands issued in one event-loop turn (many requests' cache reads and rate-limit
        // counts) go out in one socket write: each write is a system call, the largest cost
        // per request.
        enableAutoPipelining: true,
        retryStrategy: (times) => Math.min(times * 50, REDIS_RECONNECT_MAX_MS),
      };
}

/**
 * A server that was master and is now a replica answers writes with READONLY: that connection
 * is to a demoted master (a failover it has not been told of), so it reconnects, asking the
 * sentinels again, and sends the command once more.
 */
const reconnectOnReadonly = (err: Error) => (err.message.startsWith('READONLY') ? 2 : false);

export function connectRedis(
  topology: RedisTopology,
  role: ConnectionRole,
  settings: ConnectSettings,
): RedisClient {
  const options = roleOptions(role, settings);
  const client = open(topology, options, role);
  // ioredis reconnects by itself; without a listener a lost connection would crash the process.
  client.on('error', () => {});
  return client instanceof Redis ? keepConnected(client) : client;
}

const kept = new WeakSet<Redis>();

/**
 * Opens `client` again, REDIS_RECONNECT_MAX_MS later, whenever it ends without this process
 * closing it (`disconnect()` or `quit()`). ioredis ends a connection for good, every later
 * command failing with "Connection is closed.", when its connector is told to disconnect while
 * it is connecting: behind Sentinel that is a failover notice (+switch-master) arriving while
 * the connection reconnects after its master died. Its duplicates (subscribers, BullMQ's
 * blocking connections) are kept the same way.
 */
export function keepConnected(client: Redis): Redis {
  if (kept.has(client)) return client;
  kept.add(client);
  let closing = false;
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect = false) => {
    if (!reconnect) closing = true;
    disconnect(reconnect);
  };
  const quit = client.quit.bind(client);
  client.quit = (...args: Parameters<Redis['quit']>) => {
    closing = true;
    return quit(...args);
  };
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override?: Partial<RedisOptions>) => keepConnected(duplicate(override));
  client.on('end', () => {
    if (closing) return;
    setTimeout(() => {
      if (!closing && client.status === 'end') client.connect().catch(() => {});
    }, REDIS_RECONNECT_MAX_MS).unref();
  });
  return client;
}

function open(topology: RedisTopology, options: RedisOptions, role: ConnectionRole): RedisClient {
  switch (topology.kind) {
    case 'single':
      return new Redis(topology.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: topology.sentinels.map(hostPort),
        name: topology.master,
        sentinelPassword: topology.sentinelPassword,
        password: topology.password,
        // Told of a failover by the sentinels (+switch-master) instead of waiting for the old
        // master's connection to fail.
        failoverDetector: true,
        reconnectOnError: reconnectOnReadonly,
      });
    case 'cluster': {
      const { enableOfflineQueue, enableAutoPipelining, ...perNode } = options;
      const clusterOptions: ClusterOptions = {
        enableOfflineQueue: enableOfflineQueue ?? true,
        enableAutoPipelining,
        // A cluster in the middle of a failover answers CLUSTERDOWN or moves slots: retried.
        retryDelayOnClusterDown: 200,
        retryDelayOnFailover: 200,
        redisOptions: { ...perNode, password: topology.password },
      };
      // BullMQ's commands must wait out a failover; the fail-fast ones give up after a try.
      if (role === 'fail-fast') clusterOptions.maxRedirections = 4;
      return new Cluster(topology.nodes.map(hostPort), clusterOptions);
    }
  }
}

/**
 * A second connection like `client` (same topology and options, with `overrides`): what a
 * subscriber needs, since a subscribed connection can run nothing else.
 */
export function duplicateClient(client: RedisClient, overrides: RedisOptions = {}): RedisClient {
  const copy =
    client instanceof Cluster
      ? client.duplicate(undefined, {
          redisOptions: { ...client.options.redisOptions, ...overrides },
        })
      : client.duplicate(overrides);
  copy.on('error', () => {});
  return copy;
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Waits until `replicas` replicas have every write this connection made to the node holding
 * `key` (WAIT), for at most timeoutMs. Redis replicates asynchronously: a failover promotes a
 * replica, and what the old master had not passed on is gone. True when enough replicas have
 * it; with `replicas` 0, true at once.
 *
 * WAIT names no key, so it is sent in a pipeline after a command on `key`: on a cluster the
 * pipeline goes to the node of the key's slot, over the connection the writes went on.
 */
export async function replicated(
  client: RedisClient,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<boolean> {
  if (replicas === 0) return true;
  const results = await client.pipeline().exists(key).wait(replicas, timeoutMs).exec();
  const [err, acknowledged] = results?.[1] ?? [new Error('WAIT had no answer'), 0];
  if (err) throw err;
  return Number(acknowledged) >= replicas;
}

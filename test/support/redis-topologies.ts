import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, runCommand } from './commands.js';
import { skipOrFail } from './skip.js';
import { eventually } from './time.js';

/**
 * Private Redis topologies for the high-availability suites: a Sentinel setup (a master, a
 * replica, three sentinels) and a three-master Redis Cluster, each on free ports under a temp
 * folder, from Debian's redis-server and redis-tools. Nothing is shared with the machine's Redis.
 */

function binary(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Undefined when redis-server and redis-cli are on PATH, else the reason to skip. */
export function redisTopologySkip(): string | undefined {
  const missing = ['redis-server', 'redis-cli'].filter((name) => !binary(name));
  if (missing.length === 0) return undefined;
  return skipOrFail(
    'Redis HA binaries',
    `${missing.join(' and ')} not on PATH (Debian: redis-server, redis-tools)`,
  );
}

interface Server {
  port: number;
  process: ChildProcess;
  /** Starts it again on the same port, with `lines` in place of its own replicaof line. */
  restart(lines?: string[]): Promise<Server>;
}

/** Starts `redis-server` with a config file written into `dir`; resolves once it listens. */
async function startServer(
  dir: string,
  name: string,
  lines: string[],
  sentinel = false,
  port?: number,
): Promise<Server> {
  port ??= await freePort();
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(
    file,
    [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', ...lines].join('\n') + '\n',
  );
  const args = sentinel ? [file, '--sentinel'] : [file];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: string) => {
      output += d;
      if (/Ready to accept connections|Sentinel ID is/.test(output)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
  // Keep draining its output, or a full pipe would stall it.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    port,
    process: child,
    restart: (more = []) =>
      startServer(
        dir,
        name,
        [...lines.filter((l) => !l.startsWith('replicaof')), ...more],
        sentinel,
        port,
      ),
  };
}

async function stopServer(server: Server) {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = once(server.process, 'exit');
  server.process.kill('SIGKILL');
  await exited;
}

async function withClient<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export interface SentinelSetup {
  /** `host:port` of each sentinel, as REDIS_SENTINELS takes them. */
  sentinels: string[];
  master: string;
  /** The port of the server that is master now, as the sentinels see it. */
  masterPort(): Promise<number>;
  /** Asks the sentinels for a failover and waits until the other server is master. */
  failover(): Promise<void>;
  /** Kills the master (SIGKILL) and waits until the sentinels have promoted the replica. */
  killMaster(): Promise<void>;
  /**
   * Starts the killed server again, as an operator would; the sentinels make it a replica of
   * the new master. Resolves once the master sees it in sync.
   */
  restartKilled(): Promise<void>;
  close(): Promise<void>;
}

export const SENTINEL_MASTER = 'stratum-test';

/**
 * A master and one replica watched by three sentinels (quorum 2), quick to decide: a master is
 * down after 1 s of silence. Replicas serve no stale reads (the app reads the master only).
 */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-sentinel-'));
  const servers: Server[] = [];
  const close = async () => {
    await Promise.all(servers.map(stopServer));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const first = await startServer(dir, 'redis-a', ['appendonly no']);
    servers.push(first);
    const second = await startServer(dir, 'redis-b', [`replicaof 127.0.0.1 ${first.port}`]);
    servers.push(second);
    await eventually(
      () =>
        withClient(second.port, async (r) =>
          /master_link_status:up/.test(await r.info('replication')),
        ),
      { what: 'the replica in sync', timeoutMs: 20_000 },
    );
    const sentinels: Server[] = [];
    for (const n of [1, 2, 3]) {
      const sentinel = await startServer(
        dir,
        `sentinel-${n}`,
        [
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${first.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        ],
        true,
      );
      servers.push(sentinel);
      sentinels.push(sentinel);
    }
    const byPort = new Map([first, second].map((s) => [s.port, s]));
    let killed: Server | undefined;
    const masterPort = () =>
      withClient(sentinels[0]!.port, async (r) => {
        const [, port] = (await r.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as [
          string,
          string,
        ];
        return Number(port);
      });
    // Every sentinel must know the replica and the other sentinels before it can fail over.
    await eventually(
      async () => {
        for (const s of sentinels) {
          const ready = await withClient(s.port, async (r) => {
            const replicas = (await r.call('SENTINEL', 'replicas', SENTINEL_MASTER)) as unknown[];
            const peers = (await r.call('SENTINEL', 'sentinels', SENTINEL_MASTER)) as unknown[];
            return replicas.length === 1 && peers.length === 2;
          });
          if (!ready) return false;
        }
        return true;
      },
      { what: 'the sentinels aware of the replica and of each other', timeoutMs: 30_000 },
    );
    const promotedFrom = async (oldPort: number) => {
      await eventually(
        async () => {
          const port = await masterPort();
          if (port === oldPort) return false;
          return withClient(port, async (r) => /role:master/.test(await r.info('replication')));
        },
        { what: 'a new master', timeoutMs: 30_000 },
      );
    };
    return {
      sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`),
      master: SENTINEL_MASTER,
      masterPort,
      async failover() {
        const old = await masterPort();
        await withClient(sentinels[0]!.port, (r) =>
          r.call('SENTINEL', 'failover', SENTINEL_MASTER),
        );
        await promotedFrom(old);
      },
      async killMaster() {
        const old = await masterPort();
        killed = byPort.get(old)!;
        await stopServer(killed);
        await promotedFrom(old);
      },
      async restartKilled() {
        if (!killed) return;
        const master = await masterPort();
        // Straight in as a replica: a dead master that came back as a master, even briefly,
        // would be a second master with an empty dataset.
        const again = await killed.restart([`replicaof 127.0.0.1 ${master}`]);
        servers.push(again);
        byPort.set(again.port, again);
        killed = undefined;
        await eventually(
          () =>
            withClient(master, async (r) =>
              /connected_slaves:1\b[\s\S]*state=online/.test(await r.info('replication')),
            ),
          { what: 'the restarted server a replica in sync', timeoutMs: 60_000 },
        );
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface RedisClusterSetup {
  /** `host:port` of each master, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  close(): Promise<void>;
}

/** Three masters, no replicas, the 16384 slots spread over them by `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisClusterSetup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-cluster-'));
  const servers: Server[] = [];
  const close = async () => {
    await Promise.all(servers.map(stopServer));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const n of [1, 2, 3]) {
      servers.push(
        await startServer(dir, `node-${n}`, [
          'cluster-enabled yes',
          `cluster-config-file nodes-${n}.conf`,
          'cluster-node-timeout 2000',
          'appendonly no',
        ]),
      );
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    await runCommand('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-yes'], 60_000);
    await eventually(
      async () => {
        for (const s of servers) {
          const info = await withClient(
            s.port,
            (r) => r.call('CLUSTER', 'INFO') as Promise<string>,
          );
          if (!/cluster_state:ok/.test(info)) return false;
        }
        return true;
      },
      { what: 'the cluster state ok on every node', timeoutMs: 30_000 },
    );
    return { nodes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

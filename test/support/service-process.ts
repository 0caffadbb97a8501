import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { eventually } from './time.js';

/** Drives `src/main.ts` as a real process: its exit code, its stderr, its socket. */

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

// Only what the child needs, so the test runner's own environment can't leak into the config.
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...env };
}

function spawnEntry(script: string, env: Record<string, string>, args: string[] = []) {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: projectRoot,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const spawnMain = (env: Record<string, string>) => spawnEntry('src/main.ts', env);

/** Runs the service to its end (for start-ups that must fail); killed after timeoutMs. */
export function runMain(env: Record<string, string>, timeoutMs = 30_000) {
  return runEntry('src/main.ts', env, [], timeoutMs);
}

/** Runs an entry point (the worker, a CLI under src/cli) to its end; killed after timeoutMs. */
export async function runEntry(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  timeoutMs = 30_000,
) {
  const child = spawnEntry(script, env, args);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

export interface RunningService {
  port: number;
  exited: Promise<Exit>;
  /** Resolves with the first log line (stdout, pino JSON) matching pattern, seen or to come. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(name: NodeJS.Signals): void;
  kill(): void;
  /** Every stdout line so far (pino JSON, one per line). */
  logLines(): string[];
  /** Everything written to stderr so far (a crash's stack, say). */
  stderr(): string;
}

/** Starts the service on a free port and resolves once it listens. */
export async function startService(
  env: Record<string, string>,
  startTimeoutMs = 60_000,
): Promise<RunningService> {
  const child = spawnMain({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  const lines: string[] = [];
  const watchers = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  let stderr = '';
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) {
      lines.push(line);
      for (const w of watchers) if (w.pattern.test(line)) w.resolve(line);
    }
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  function waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(
          new Error(`no log line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr}`),
        );
      }, timeoutMs);
      const watcher = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          watchers.delete(watcher);
          resolve(line);
        },
      };
      watchers.add(watcher);
    });
  }

  const listening = waitForLog(/Server listening at http:\/\/127\.0\.0\.1:\d+/, startTimeoutMs);
  const line = await Promise.race([
    listening,
    exited.then((exit) => {
      throw new Error(`service exited before listening (${JSON.stringify(exit)}): ${stderr}`);
    }),
  ]);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
  return {
    port,
    exited,
    waitForLog,
    logLines: () => lines,
    stderr: () => stderr,
    signal: (name) => void child.kill(name),
    kill: () =>
      void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')),
  };
}

/** A GET on its own connection (no keep-alive), resolving with status and parsed JSON body. */
export function httpGet(port: number, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
}

/** Polls /health/ready until it answers 200. */
export async function waitUntilReady(port: number, timeoutMs = 30_000) {
  await eventually(
    async () => {
      const status = await httpGet(port, '/health/ready').then(
        (r) => r.status,
        () => 0,
      );
      return status === 200;
    },
    { timeoutMs, intervalMs: 100, what: '/health/ready answering 200' },
  );
}

/** Resolves true when a new TCP connection to the port is refused, false when it connects. */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    // A connect that races the listener's close is reset rather than refused: not served either.
    socket.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' ? resolve(true) : reject(err),
    );
  });
}

/**
 * A raw HTTP/1.1 connection, for requests a normal client can't make: a body sent in pieces,
 * slowly. `closed` resolves with everything the server wrote once it closes the connection.
 */
export async function openRawConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8').on('data', (d: string) => (received += d));
  // A server that gives up on a half-sent request may reset the connection instead of ending
  // it: for this client both are "closed", so errors are not failures here.
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return {
    write: (text: string) => void (socket.destroyed || socket.write(text)),
    closed,
    destroy: () => socket.destroy(),
    isClosed: () => socket.destroyed,
  };
}

/** The status code of a raw HTTP/1.1 response, or undefined when nothing was answered. */
export function statusOf(raw: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return match ? Number(match[1]) : undefined;
}

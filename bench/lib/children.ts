import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Servers under test, run as child processes that never outlive the benchmark. */

const running = new Set<ChildProcess>();
const OUTPUT_TAIL_BYTES = 8_192;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

// Whatever way the benchmark ends, no server is left holding a port or a pool.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// Exiting from the handler runs the one above; 128 + the signal number, as a shell reports it.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

export interface ServerSpec {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  readyPath: string;
  /**
   * Runs the child in a process group of its own, signalled as a whole: for a launcher (`npm
   * start`) whose shell would pass a signal on to nobody, leaving the server running.
   */
  group?: boolean;
}

export interface ChildServer {
  name: string;
  pid: number;
  baseUrl: string;
  /** Milliseconds from spawn to the first 200 on the readiness path. */
  readyMs: number;
  rssMb(): number;
  /** CPU time (user + system) the process has used so far, in seconds. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A GET without keep-alive or fetch's lazy set-up, so it adds nothing to a start-up timing. */
export function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** One POST with a body, answered as httpGet answers. */
export function httpPost(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent: false, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function keepTail(child: ChildProcess) {
  let tail = '';
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  // Read both pipes even if nothing is printed from them: a full pipe would block the child.
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => tail;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitUntilReady(child: ChildProcess, url: string, output: () => string) {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ready:\n${output()}`);
    }
    const status = await httpGet(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (performance.now() > deadline) {
      throw new Error(`not ready within ${READY_TIMEOUT_MS} ms:\n${output()}`);
    }
    await sleep(5);
  }
}

export function readRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

// USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux build Node supports.
const CLOCK_TICKS_PER_SECOND = 100;

export function readCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; the fields after it are space-separated, utime and stime
  // being the 12th and 13th of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function signal(child: ChildProcess, name: NodeJS.Signals, group: boolean) {
  if (!group || child.pid === undefined) return void child.kill(name);
  try {
    process.kill(-child.pid, name);
  } catch {
    // The group is gone already.
  }
}

async function stopChild(child: ChildProcess, group = false) {
  signal(child, 'SIGTERM', group);
  const timer = setTimeout(() => signal(child, 'SIGKILL', group), STOP_TIMEOUT_MS);
  await exited(child);
  clearTimeout(timer);
  running.delete(child);
}

/** Spawns `node ...args` from the project root and resolves once it answers 200 when ready. */
export async function startServer(spec: ServerSpec): Promise<ChildServer> {
  const baseUrl = `http://127.0.0.1:${spec.port}`;
  const started = performance.now();
  const child = spawn(process.execPath, spec.args, {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: spec.group === true,
  });
  running.add(child);
  const output = keepTail(child);
  try {
    await waitUntilReady(child, baseUrl + spec.readyPath, output);
  } catch (err) {
    await stopChild(child, spec.group);
    throw new Error(`${spec.name}: ${(err as Error).message}`, { cause: err });
  }
  const readyMs = performance.now() - started;
  return {
    name: spec.name,
    pid: child.pid!,
    baseUrl,
    readyMs,
    rssMb: () => readRssMb(child.pid!),
    cpuSeconds: () => readCpuSeconds(child.pid!),
    stop: () => stopChild(child, spec.group),
  };
}

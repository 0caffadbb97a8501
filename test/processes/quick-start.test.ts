import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/commands.js';
import { skipOrFail } from '../support/skip.js';
import { quickStartBlocks } from '../docs/markdown.js';
import { sleep } from '../support/time.js';

/**
 * The README's quick start, run as a newcomer would paste it: the setup blocks, then the server
 * block in the background (`npm start` on the embedded database), then every client block in
 * one shell, so the variables one block sets reach the next. Only the port and the data folder
 * differ from the README: a free port, and a temporary DATA_DIR in place of `.data/`.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const README_PORT = '127.0.0.1:3000';
const README_DATA = '.data/';

async function waitForReady(base: string, server: ChildProcess, log: () => string) {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`the server exited with ${server.exitCode}:\n${log()}`);
    }
    try {
      const res = await fetch(`${base}/health/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`the server was not ready within 180 s:\n${log()}`);
}

function bash(script: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  assert.equal(
    result.status,
    0,
    `exit ${result.status} (${result.signal ?? 'no signal'})\n--- script\n${script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
  );
  return result.stdout;
}

// The quick start's own tools; a machine without them skips (CI fails instead).
const missingTool = ['bash', 'curl', 'grep'].find(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
);
const skip = missingTool ? skipOrFail('quick start', `no ${missingTool} on PATH`) : false;

describe('the README quick start', { timeout: 600_000, skip }, () => {
  const blocks = quickStartBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  let tmp: string;
  let dataDir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;
  let serverLog = '';

  const localize = (script: string) =>
    script.replaceAll(README_PORT, `127.0.0.1:${port}`).replaceAll(README_DATA, `${dataDir}/`);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-quick-start-'));
    // The lock file sits beside the data folder: both inside the temporary folder.
    dataDir = path.join(tmp, 'data');
    port = await freePort();
    env = {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      // The embedded defaults, whatever a developer's .env says (a set variable wins over it).
      DATABASE_URL: '',
      REDIS_URL: '',
      QUEUE_REDIS_URL: '',
      SMTP_URL: '',
      ADMIN_EMAIL: '',
      ADMIN_PASSWORD: '',
    };
  });

  after(async () => {
    if (server && server.exitCode === null && server.pid) {
      const exited = new Promise((r) => server!.once('exit', r));
      // npm, its shell and node share the process group the server block was started in.
      process.kill(-server.pid, 'SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('marks its setup, server and client blocks, in that order', () => {
    const kinds = blocks.map((b) => b.kind);
    assert.ok(kinds.includes('setup') && kinds.includes('server') && kinds.includes('client'));
    const firstServer = kinds.indexOf('server');
    assert.equal(kinds.lastIndexOf('server'), firstServer, 'one server block');
    assert.ok(kinds.slice(0, firstServer).every((k) => k === 'setup'));
    assert.ok(kinds.slice(firstServer + 1).every((k) => k === 'client'));
    const client = blocks
      .filter((b) => b.kind === 'client')
      .map((b) => b.code)
      .join('\n');
    // The substitutions this test makes must have something to replace.
    assert.ok(client.includes(README_PORT), `the client blocks name ${README_PORT}`);
    assert.ok(client.includes(README_DATA), `the client blocks read ${README_DATA}`);
  });

  it('ends with a paid order and its confirmation email', async () => {
    for (const block of blocks.filter((b) => b.kind === 'setup')) {
      bash(localize(block.code), env, 300_000);
    }

    const serverBlock = blocks.find((b) => b.kind === 'server')!;
    server = spawn('bash', ['-c', localize(serverBlock.code)], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitForReady(base, server, () => serverLog);

    const client = blocks
      .filter((b) => b.kind === 'client')
      .map((b) => localize(b.code))
      .join('\n');
    const out = bash(
      `${client}\nprintf '\\n::ORDER=%s\\n::TOKEN=%s\\n' "$ORDER" "$TOKEN"\n`,
      env,
      120_000,
    );
    const order = /^::ORDER=(.+)$/m.exec(out)?.[1] ?? '';
    const token = /^::TOKEN=(.+)$/m.exec(out)?.[1] ?? '';
    assert.match(order, /^[0-9a-f-]{36}$/, `the quick start sets ORDER\n${out}`);

    const res = await fetch(`${base}/api/v1/orders/${order}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { status: string } };
    assert.equal(body.data.status, 'paid');

    const mailDir = path.join(dataDir, 'mail');
    const mails = fs
      .readdirSync(mailDir)
      .filter((name) => name.endsWith('.eml'))
      .filter((name) => fs.readFileSync(path.join(mailDir, name), 'utf8').includes(order));
    assert.equal(mails.length, 1, `one confirmation email for ${order} in ${mailDir}`);
    assert.ok(out.includes(path.join(mailDir, mails[0]!)), 'the quick start prints its file');
  });
});

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  acquireEmbeddedLock,
  EmbeddedDatabaseInUseError,
  lockPathFor,
} from '../../src/platform/db/embedded-lock.js';
import { startService, waitUntilReady } from '../support/service-process.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const lockModule = fileURLToPath(
  new URL('../../src/platform/db/embedded-lock.ts', import.meta.url),
);

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-lock-'));
}

/** The PID of a process that has already exited: what a crash leaves in a lock file. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid);
  return child.pid;
}

describe('the embedded database lock', () => {
  it('when the folder is locked, then a second acquire is refused with one line naming the PID', () => {
    const dir = path.join(tempDir(), 'pglite');
    const lock = acquireEmbeddedLock(dir, 'npm start: node dist/main.js');
    try {
      assert.throws(
        () => acquireEmbeddedLock(dir),
        (err: unknown) => {
          assert.ok(err instanceof EmbeddedDatabaseInUseError);
          assert.equal(err.pid, process.pid);
          assert.doesNotMatch(err.message, /\n/);
          assert.match(err.message, new RegExp(`in use by process ${process.pid} \\(npm start: `));
          assert.match(err.message, /Stop that process first/);
          return true;
        },
      );
    } finally {
      lock.release();
    }
  });

  it('when the lock names a process that is gone, then it is taken over', async () => {
    const dir = path.join(tempDir(), 'pglite');
    fs.writeFileSync(lockPathFor(dir), `${await deadPid()}\nnode dist/main.js\n`);
    const lock = acquireEmbeddedLock(dir);
    try {
      assert.equal(fs.readFileSync(lockPathFor(dir), 'utf8').split('\n')[0], String(process.pid));
    } finally {
      lock.release();
    }
  });

  it('when the lock is released, then its file is removed and the folder can be locked again', () => {
    const dir = path.join(tempDir(), 'pglite');
    const lock = acquireEmbeddedLock(dir);
    assert.ok(fs.existsSync(lock.path));
    lock.release();
    assert.equal(fs.existsSync(lock.path), false);
    lock.release();
    acquireEmbeddedLock(dir).release();
  });

  it('when several processes take over one stale lock at once, then exactly one wins', async () => {
    const dir = path.join(tempDir(), 'pglite');
    fs.writeFileSync(lockPathFor(dir), `${await deadPid()}\ncrashed\n`);
    // Each taker signals it is loaded, then waits for "go" on stdin so all start together, and
    // keeps what it won until stdin closes: a winner that let go early would let a second win.
    const script = `
      const { acquireEmbeddedLock } = await import(${JSON.stringify(lockModule)});
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => {
        let result;
        try { acquireEmbeddedLock(${JSON.stringify(dir)}); result = 'won'; }
        catch (err) { result = err.name; }
        process.stdout.write(result + '\\n');
      });
      process.stdin.resume();
    `;
    const takers = Array.from({ length: 6 }, () => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        {
          cwd: projectRoot,
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      let out = '';
      const lines = (count: number) =>
        new Promise<string[]>((resolve) => {
          const check = () => {
            const got = out.split('\n').filter(Boolean);
            if (got.length >= count) resolve(got);
            else child.stdout.once('data', check);
          };
          check();
        });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      return { child, lines };
    });
    try {
      await Promise.all(takers.map((t) => t.lines(1)));
      for (const t of takers) t.child.stdin.write('go\n');
      const results = await Promise.all(takers.map(async (t) => (await t.lines(2))[1]));
      assert.equal(results.filter((r) => r === 'won').length, 1, results.join(', '));
      assert.equal(
        results.filter((r) => r === 'EmbeddedDatabaseInUseError').length,
        takers.length - 1,
        results.join(', '),
      );
    } finally {
      for (const t of takers) t.child.stdin.end();
      await Promise.all(takers.map((t) => once(t.child, 'exit')));
    }
    // The winner's exit handler removed its lock.
    assert.equal(fs.existsSync(lockPathFor(dir)), false);
  });
});

function runCli(env: Record<string, string>, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/user-create.ts', ...args],
      {
        cwd: projectRoot,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...env },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

function postJson(port: number, urlPath: string, body: unknown) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('a second process on the embedded database', () => {
  let dataDir: string;
  const env = () => ({ DATA_DIR: dataDir });
  const credentials = { email: 'a@example.com', password: 'a strong passphrase here' };
  const cliArgs = ['--email', credentials.email, '--password', credentials.password];

  before(() => {
    dataDir = tempDir();
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it(
    'when the server holds the database, then user:create refuses with one line, and works once the server is stopped',
    { timeout: 240_000 },
    async () => {
      const server = await startService(env(), 120_000);
      try {
        await waitUntilReady(server.port, 60_000);
        const refused = await runCli(env(), cliArgs);
        assert.notEqual(refused.code, 0, refused.stdout);
        assert.match(
          refused.stderr,
          /^The embedded database in .*pglite is in use by process \d+ \(.*\)\. Stop that process first.*\n$/,
        );
        assert.equal(refused.stderr.split('\n').filter(Boolean).length, 1, refused.stderr);
        assert.doesNotMatch(refused.stderr, / {4}at /);
      } finally {
        server.signal('SIGTERM');
        const exit = await server.exited;
        assert.equal(exit.code, 0, server.stderr());
      }
      assert.equal(fs.existsSync(path.join(dataDir, 'pglite.lock')), false);

      const created = await runCli(env(), cliArgs);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /created user a@example\.com/);

      const again = await startService(env(), 120_000);
      try {
        await waitUntilReady(again.port, 60_000);
        assert.equal(await postJson(again.port, '/api/v1/auth/login', credentials), 200);
      } finally {
        again.signal('SIGTERM');
        await again.exited;
      }
    },
  );
});

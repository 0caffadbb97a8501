import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresSkip } from '../support/databases.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

const run = promisify(execFile);

/** `npm run user:create` as an operator runs it, against a migrated PostgreSQL database. */
describe('the user:create command', { skip: postgresSkip }, () => {
  let scratch: ScratchDatabase;
  const env = () => ({
    ...process.env,
    DATABASE_URL: scratch.url,
    MIGRATE_ON_START: 'true',
    LOG_LEVEL: 'silent',
  });
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/user-create.ts', ...args],
        { env: env() },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const roleOf = async (email: string) => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ role: string }>(
        'select role from users where email = $1',
        [email],
      );
      return rows[0];
    } finally {
      await client.end();
    }
  };

  before(async () => {
    scratch = await createScratchDatabase();
  });
  after(() => scratch.drop());

  it('when the email is new, then the account is created with the API rules (lower case, strong password)', async () => {
    const weak = await cli('--email', 'Weak@Example.com', '--password', 'password123');
    assert.equal(weak.code, 1, weak.stdout);
    assert.match(weak.stderr, /too common/);
    const created = await cli('--email', 'Ops@Example.com', '--password', 'an operator passphrase');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created user ops@example\.com/);
    assert.equal((await roleOf('ops@example.com'))?.role, 'user');
  });

  it('when the email exists, then --role admin promotes it, explicitly and with a line saying so', async () => {
    const promoted = await cli('--email', 'OPS@example.com', '--role', 'admin');
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(
      promoted.stdout,
      /updated role of ops@example\.com: now admin; its sessions ended/,
    );
    assert.equal((await roleOf('ops@example.com'))?.role, 'admin');
  });

  it('when the input breaks the rules, then it says which and changes nothing', async () => {
    const badEmail = await cli('--email', 'not-an-email', '--password', 'an operator passphrase');
    assert.equal(badEmail.code, 2);
    assert.match(badEmail.stderr, /email/);
    const badRole = await cli('--email', 'ops@example.com', '--role', 'root');
    assert.equal(badRole.code, 2);
    assert.equal((await roleOf('ops@example.com'))?.role, 'admin');
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresSkip } from '../support/databases.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';

const run = promisify(execFile);

/**
 * `npm run audit:verify` as an operator runs it: an intact log exits 0 with what it checked; a
 * record changed behind the application's back exits 1 naming its chain and sequence.
 */
describe('the audit:verify command', { skip: postgresSkip }, () => {
  let scratch: ScratchDatabase;
  const env = () => ({
    ...process.env,
    DATABASE_URL: scratch.url,
    MIGRATE_ON_START: 'true',
    LOG_LEVEL: 'silent',
  });
  const cli = async (script: string, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ['--import', 'tsx', `src/cli/${script}.ts`, ...args],
        { env: env() },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  let userId: string;

  before(async () => {
    scratch = await createScratchDatabase();
    const email = 'audited@example.com';
    const created = await cli('user-create', '--email', email, '--password', 'a long passphrase');
    assert.equal(created.code, 0, created.stderr);
    const promoted = await cli('user-create', '--email', email, '--role', 'admin');
    assert.equal(promoted.code, 0, promoted.stderr);
    const [row] = await query<{ id: string }>('select id from users where email = $1', [email]);
    userId = row!.id;
  });
  after(() => scratch.drop());

  it('when the log is untouched, then it exits 0 saying what it checked', async () => {
    const events = await query<{ type: string; actor_id: string }>(
      'select type, actor_id from security_events where user_id = $1 order by seq',
      [userId],
    );
    assert.deepEqual(events, [
      { type: 'account-created', actor_id: 'operator' },
      { type: 'role-changed', actor_id: 'operator' },
    ]);
    const all = await cli('audit-verify');
    assert.equal(all.code, 0, all.stdout + all.stderr);
    assert.match(all.stdout, /security log: 1 chain\(s\), 2 event\(s\) checked, all intact/);
    const one = await cli('audit-verify', '--user', userId);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.match(
      one.stdout,
      new RegExp(`chain ${userId}: 2 events checked \\(sequence 1..2\\), ok`),
    );
  });

  it('when a record was changed behind its back, then it exits 1 naming the chain and the sequence', async () => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('set local session_replication_role = replica');
      await client.query(
        `update security_events set details = '{"from":"user","to":"user"}'
          where user_id = $1 and seq = 2`,
        [userId],
      );
      await client.query('commit');
    } finally {
      await client.end();
    }
    const res = await cli('audit-verify');
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(
      res.stdout,
      new RegExp(`chain ${userId}: 1 events checked; BROKEN at sequence 2: its contents`),
    );
    assert.match(res.stdout, /1 broken/);
  });

  it('when --user is not an id, then it exits 2', async () => {
    const res = await cli('audit-verify', '--user', 'someone');
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--user/);
  });
});

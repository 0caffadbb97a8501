import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sql } from 'kysely';
import { engines } from '../../support/databases.js';
import { startApp, type StartedApp } from '../../support/app.js';
import { bearer, createUserAndLogin } from '../../support/auth.js';
import { outboxRowsFor, outboxSettled, RecordingMailer, register } from '../../support/jobs.js';
import { eventually } from '../../support/time.js';

/** Embedded mode: no Redis, the outbox is the queue and the API process runs the handlers. */

const fast = { OUTBOX_POLL_MS: '20', JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '100' };

for (const engine of engines) {
  describe(`jobs without Redis (${engine.name})`, { skip: engine.skip }, () => {
    let app: StartedApp;
    const mailer = new RecordingMailer();
    before(async () => (app = await startApp(engine, { mailer, env: fast })));
    after(async () => app.close());
    beforeEach(() => mailer.reset());

    it('when a user registers, then the welcome email is sent once, in process', async () => {
      const { res, email } = await register(app.server, 'Ada <b>');
      assert.equal(res.statusCode, 201);
      await eventually(() => mailer.sent.length === 1, { what: 'the welcome email' });
      const [mail] = mailer.sent;
      assert.equal(mail!.to, email);
      assert.ok(mail!.html.includes('Ada &lt;b&gt;'));
      const row = await eventually(
        async () => (await outboxRowsFor(app.database.db, email)).find((r) => r.sent_at) ?? false,
        { what: 'the row marked sent' },
      );
      assert.equal(row.type, 'email.welcome');
      assert.equal(mail!.messageId, `<${row.id}@stratum.local>`);
      assert.equal(row.request_id, res.headers['x-request-id']);
    });

    it('when no queue Redis is configured, then the job dashboard is the outbox page', async () => {
      const guest = await app.server.inject({ method: 'GET', url: '/admin/queues' });
      assert.equal(guest.statusCode, 401);
      const admin = await createUserAndLogin(app.server, app.services, 'admin');
      const res = await app.server.inject({
        method: 'GET',
        url: '/admin/queues',
        headers: bearer(admin.accessToken),
      });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Jobs \(outbox\)/);
    });

    it('when the same outbox row runs again, then no second email is sent', async () => {
      const { email } = await register(app.server);
      await eventually(() => mailer.sent.length === 1, { what: 'the welcome email' });
      const [row] = await outboxRowsFor(app.database.db, email);
      await app.database.db
        .updateTable('outbox')
        .set({ sent_at: null, available_at: sql<Date>`now()` })
        .where('id', '=', row!.id)
        .execute();
      app.jobs.drainer.nudge();
      await eventually(
        async () => (await outboxRowsFor(app.database.db, email))[0]?.sent_at ?? false,
        { what: 'the second run' },
      );
      assert.equal(mailer.sent.length, 1);
    });

    it('when sending fails twice, then it is retried with exponential backoff and sent once', async () => {
      mailer.reset(2);
      const { email } = await register(app.server);
      await eventually(() => mailer.sent.length === 1, { what: 'the third attempt' });
      const [first, second, third] = mailer.attempts as [number, number, number];
      assert.ok(second - first >= 90, `first retry after ${second - first} ms, not ~100`);
      assert.ok(third - second >= 190, `second retry after ${third - second} ms, not ~200`);
      const row = await eventually(
        async () => (await outboxRowsFor(app.database.db, email)).find((r) => r.sent_at) ?? false,
        { what: 'the row marked sent' },
      );
      assert.equal(row.attempts, 3);
    });

    it('when every attempt fails, then the row is dead after the last one, with the reason', async () => {
      mailer.reset(Infinity);
      const { email } = await register(app.server);
      const row = await eventually(
        async () => (await outboxRowsFor(app.database.db, email)).find((r) => r.failed_at) ?? false,
        { what: 'the dead letter' },
      );
      assert.equal(row.attempts, 3);
      assert.equal(row.last_error, 'SMTP said no');
      assert.equal(row.sent_at, null);
      // A dead row is never claimed again and it is the only row for this email: the count of
      // attempts is final once it is dead, no waiting needed.
      const rows = await outboxSettled(app.database.db, email);
      assert.deepEqual(
        rows.map((r) => r.id),
        [row.id],
      );
      assert.equal(mailer.attempts.length, 3, 'no attempt after the last one');
    });

    it('when the outbox insert fails, then registration rolls back: no user, no row, no email', async () => {
      const db = app.database.db;
      await sql`create function refuse_outbox() returns trigger language plpgsql as $$
                begin raise exception 'outbox refused'; end $$`.execute(db);
      await sql`create trigger refuse_outbox before insert on outbox
                for each row execute function refuse_outbox()`.execute(db);
      try {
        const { res, email } = await register(app.server);
        assert.equal(res.statusCode, 500);
        const users = await db
          .selectFrom('users')
          .select('id')
          .where('email', '=', email)
          .execute();
        assert.deepEqual(users, []);
        // No row, so nothing the runner could ever send: the count is final now.
        assert.deepEqual(await outboxRowsFor(db, email), []);
        assert.equal(mailer.attempts.length, 0);
      } finally {
        await sql`drop trigger refuse_outbox on outbox`.execute(db);
        await sql`drop function refuse_outbox()`.execute(db);
      }
    });
  });
}

describe('the file mailer (no SMTP_URL)', () => {
  const engine = engines.find((e) => e.name === 'postgres')!;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-mail-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it(
    'when a welcome email is sent, then it is an .eml file under DATA_DIR/mail',
    { skip: engine.skip },
    async () => {
      const app = await startApp(engine, { env: { ...fast, DATA_DIR: dataDir } });
      try {
        const { email } = await register(app.server);
        const dir = path.join(dataDir, 'mail');
        const file = await eventually(
          () =>
            (fs.existsSync(dir) && fs.readdirSync(dir).find((f) => f.endsWith('.eml'))) ?? false,
          { what: 'the .eml file' },
        );
        const raw = fs.readFileSync(path.join(dir, file), 'utf8');
        assert.match(raw, new RegExp(`^To: ${email}`, 'm'));
        assert.match(raw, /^Subject: Welcome to Stratum/m);
      } finally {
        await app.close();
      }
    },
  );
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { migrate, readMigrations } from '../../src/platform/db/migrate.js';
import { pgliteHandle } from '../../src/platform/db/pglite.js';

/** The refresh-token families that exist when migration 0022 runs become its sessions. */
describe('migration 0022 backfills a session per refresh-token family', () => {
  let database: DatabaseHandle;
  before(async () => {
    database = pgliteHandle(await PGlite.create());
    const shipped = await readMigrations();
    await migrate(
      database.db,
      shipped.filter((m) => m.version < '0022'),
    );
  });
  after(() => database?.close());

  it('when families exist, then each gets a session: live ones open, all-revoked ones ended', async () => {
    const { db } = database;
    const userId = uuidv7();
    await db
      .insertInto('users')
      .values({ id: userId, name: 'Old', email: 'old@example.com', role: 'user', status: 'active' })
      .execute();
    const live = uuidv7();
    const ended = uuidv7();
    const token = (familyId: string, n: number, changes: object) => ({
      id: uuidv7(),
      family_id: familyId,
      user_id: userId,
      token_hash: `${familyId}-${n}`,
      expires_at: sql<Date>`now() + ${n} * interval '1 day'`,
      ...changes,
    });
    await db
      .insertInto('refresh_tokens')
      .values([
        token(live, 1, { used_at: sql`now()`, created_at: sql`now() - interval '2 days'` }),
        token(live, 7, {}),
        token(ended, 1, { used_at: sql`now()`, revoked_at: sql`now() - interval '1 hour'` }),
        token(ended, 2, { revoked_at: sql`now() - interval '1 hour'` }),
      ])
      .execute();

    await migrate(db);

    const rows = await db.selectFrom('sessions').selectAll().orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => [r.id, r.user_id, r.end_reason]),
      [
        [live, userId, null],
        [ended, userId, 'revoked'],
      ].sort(),
    );
    const [liveRow, endedRow] = rows[0]!.id === live ? rows : [rows[1]!, rows[0]!];
    assert.equal(liveRow!.ended_at, null);
    assert.ok(liveRow!.expires_at.getTime() > Date.now() + 6 * 86_400_000, 'the latest expiry');
    assert.ok(liveRow!.created_at.getTime() < Date.now() - 86_400_000, 'the first sign-in');
    assert.ok(endedRow!.ended_at);
    // The tokens now belong to their session, and go with it.
    await db.deleteFrom('sessions').where('id', '=', ended).execute();
    const left = await db.selectFrom('refresh_tokens').select('family_id').execute();
    assert.deepEqual(
      left.map((r) => r.family_id),
      [live, live],
    );
  });
});

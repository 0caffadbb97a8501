import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { TwoFactorRepository } from '../../../src/modules/auth/two-factor.repository.js';
import { PostgresUsersRepository } from '../../../src/modules/users/users.repository.js';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { withTransaction } from '../../../src/platform/db/transaction.js';
import { engines } from '../../support/databases.js';

/**
 * The conditional writes two-factor relies on, on each engine: a code's step, a recovery code
 * and a step token are each spent once, and confirming enables only the secret it checked.
 */
for (const engine of engines) {
  describe(`two-factor repository (${engine.name})`, { skip: engine.skip }, () => {
    let database: DatabaseHandle;
    let repo: TwoFactorRepository;
    before(async () => {
      database = await engine.open();
      repo = new TwoFactorRepository(database.db);
    });
    after(async () => database?.close());

    const newUser = async () => {
      const id = uuidv7();
      await new PostgresUsersRepository(database.db).create({
        id,
        name: 'Two',
        email: `${id}@example.com`,
        role: 'user',
        status: 'active',
      });
      return id;
    };
    const tx = <T>(fn: Parameters<typeof withTransaction<T>>[1]) =>
      withTransaction(database.db, fn);

    it('when an enrolment is restarted, then confirming the first secret enables nothing', async () => {
      const userId = await newUser();
      const first = Buffer.from('first sealed secret');
      const second = Buffer.from('second sealed secret');
      assert.equal(await repo.savePending(userId, first), true);
      assert.equal(await repo.savePending(userId, second), true);
      assert.equal(await tx((t) => repo.enable(userId, first, 100, t)), undefined);
      assert.ok(await tx((t) => repo.enable(userId, second, 100, t)));
      // Enabled: a new start is refused, the secret stays.
      assert.equal(await repo.savePending(userId, first), false);
      const stored = await repo.find(userId);
      assert.deepEqual(Buffer.from(stored!.secretCiphertext), second);
      assert.equal(stored!.lastStep, 100);
    });

    it('when steps are accepted, then only a later step moves the last one', async () => {
      const userId = await newUser();
      const sealed = Buffer.from('sealed');
      await repo.savePending(userId, sealed);
      assert.equal(await repo.acceptStep(userId, 101), false, 'not while pending');
      await tx((t) => repo.enable(userId, sealed, 100, t));
      assert.equal(await repo.acceptStep(userId, 100), false);
      assert.equal(await repo.acceptStep(userId, 99), false);
      assert.equal(await repo.acceptStep(userId, 101), true);
      assert.equal(await repo.acceptStep(userId, 101), false);
      // A step beyond 2^31: the column is bigint.
      assert.equal(await repo.acceptStep(userId, 2 ** 33), true);
      assert.equal((await repo.find(userId))!.lastStep, 2 ** 33);
    });

    it('when a recovery code is used, then it is spent once and only for its account', async () => {
      const [userId, otherId] = [await newUser(), await newUser()];
      await tx((t) =>
        repo.replaceRecoveryCodes(
          userId,
          ['a', 'b'].map((hash) => ({ id: uuidv7(), hash })),
          t,
        ),
      );
      assert.equal(await tx((t) => repo.useRecoveryCode(otherId, 'a', t)), false);
      assert.equal(await tx((t) => repo.useRecoveryCode(userId, 'a', t)), true);
      assert.equal(await tx((t) => repo.useRecoveryCode(userId, 'a', t)), false);
      assert.equal(await repo.countUnusedRecoveryCodes(userId), 1);
    });

    it('when a challenge is spent or past its lifetime, then it is not spent again, and the pruner takes the old', async () => {
      const userId = await newUser();
      const live = { id: uuidv7(), userId, tokenHash: `live-${uuidv7()}`, ttlMs: 60_000 };
      await repo.insertChallenge(live);
      assert.deepEqual(await repo.findChallenge(live.tokenHash), {
        id: live.id,
        userId,
        expired: false,
      });
      assert.equal(await tx((t) => repo.spendChallenge(live.id, t)), true);
      assert.equal(await tx((t) => repo.spendChallenge(live.id, t)), false);
      assert.equal(await repo.findChallenge(live.tokenHash), undefined);

      const old = { id: uuidv7(), userId, tokenHash: `old-${uuidv7()}`, ttlMs: 60_000 };
      await repo.insertChallenge(old);
      await database.db
        .updateTable('two_factor_challenges')
        .set({ expires_at: sql<Date>`now() - interval '1 minute'` })
        .where('id', '=', old.id)
        .execute();
      assert.equal((await repo.findChallenge(old.tokenHash))?.expired, true);
      assert.equal(await tx((t) => repo.spendChallenge(old.id, t)), false);
      assert.ok((await repo.pruneChallenges(100)) >= 1);
      assert.equal(await repo.findChallenge(old.tokenHash), undefined);
    });
  });
}

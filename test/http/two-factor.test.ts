import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { generateSync } from 'otplib';
import type { SecurityEventInput } from '../../src/platform/audit/security-log.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin, type TestUser } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { codesOf, graphql } from '../support/graphql.js';
import { RaceGate } from '../support/overlap.js';
import { openRedis, redisSkip } from '../support/redis.js';

/**
 * Two-factor sign-in (TOTP, RFC 6238) on PostgreSQL and Redis. The codes are computed here from
 * the secret enrolment hands out, as an authenticator app would, at chosen offsets from now.
 */

const engine = engines.find((e) => e.name === 'postgres')!;
const skip = engine.skip ?? redisSkip;

/** Steps accepted either side of now: 2, so a test crossing a step boundary still holds. */
const WINDOW = 2;
const MAX_FAILURES = 3;

/** The code an app shows `steps` periods from now. */
const codeAt = (secret: string, steps = 0) =>
  generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

const errorCode = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

let addresses = 0;
/** An address no other test uses, so throttle budgets never cross tests. */
const freshAddress = () => `10.77.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

interface Enrolled extends TestUser {
  secret: string;
  recoveryCodes: string[];
}

describe('two-factor sign-in (PostgreSQL + Redis)', { skip }, () => {
  let app: StartedApp;
  const redis = skip ? undefined : openRedis();
  const gate = new RaceGate((req) => req.url === '/api/v1/auth/login/two-factor');

  before(async () => {
    app = await startApp(engine, {
      redis,
      env: { TWO_FACTOR_WINDOW: String(WINDOW), LOGIN_MAX_FAILURES: String(MAX_FAILURES) },
      beforeReady: gate.install,
    });
  });
  after(async () => {
    await app.close();
    redis?.disconnect();
  });

  const inject = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    options: { token?: string; payload?: object; address?: string } = {},
  ) =>
    app.server.inject({
      method,
      url,
      payload: options.payload,
      headers: options.token ? bearer(options.token) : {},
      remoteAddress: options.address ?? freshAddress(),
    });

  async function enrol(user: TestUser): Promise<{ secret: string; recoveryCodes: string[] }> {
    const started = await inject('POST', '/api/v1/users/me/two-factor', {
      token: user.accessToken,
    });
    assert.equal(started.statusCode, 201, started.body);
    const { secret, otpauthUri } = started.json<{
      data: { secret: string; otpauthUri: string };
    }>().data;
    assert.match(otpauthUri, /^otpauth:\/\/totp\/Stratum:/);
    assert.ok(otpauthUri.includes(`secret=${secret}`));
    const confirmed = await inject('POST', '/api/v1/users/me/two-factor/confirm', {
      token: user.accessToken,
      payload: { code: codeAt(secret, -WINDOW) },
    });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    const { recoveryCodes } = confirmed.json<{ data: { recoveryCodes: string[] } }>().data;
    return { secret, recoveryCodes };
  }

  async function enrolledUser(): Promise<Enrolled> {
    const user = await createUserAndLogin(app.server, app.services);
    return { ...user, ...(await enrol(user)) };
  }

  /** Login with the password: the step token it answers with. */
  async function stepTokenOf(user: TestUser, address = freshAddress()): Promise<string> {
    const res = await inject('POST', '/api/v1/auth/login', {
      payload: { email: user.email, password: user.password },
      address,
    });
    assert.equal(res.statusCode, 200, res.body);
    const data = res.json<{ data: Record<string, unknown> }>().data;
    assert.equal(data.twoFactorRequired, true);
    assert.equal(data.accessToken, undefined, 'no session before the code');
    assert.equal(typeof data.stepToken, 'string');
    return data.stepToken as string;
  }

  const secondStep = (payload: object, address?: string) =>
    inject('POST', '/api/v1/auth/login/two-factor', { payload, address });

  it('when a user enrols and confirms, then login asks for a code, and the code gives the token pair', async () => {
    const user = await enrolledUser();
    assert.equal(user.recoveryCodes.length, 10);
    assert.equal(new Set(user.recoveryCodes).size, 10);
    const stepToken = await stepTokenOf(user);
    const res = await secondStep({ stepToken, code: codeAt(user.secret, -1) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const { accessToken, refreshToken } = res.json<{
      data: { accessToken: string; refreshToken: string };
    }>().data;
    assert.ok(refreshToken);
    const me = await inject('GET', '/api/v1/users/me', { token: accessToken });
    assert.equal(me.statusCode, 200);
    const status = await inject('GET', '/api/v1/users/me/two-factor', { token: accessToken });
    assert.deepEqual(
      { ...status.json<{ data: Record<string, unknown> }>().data, enabledAt: 'set' },
      { enabled: true, pending: false, enabledAt: 'set', recoveryCodesLeft: 10 },
    );
  });

  it('when the secret is stored, then the row holds neither its text nor its bytes', async () => {
    const user = await enrolledUser();
    const row = await app.database.db
      .selectFrom('two_factor')
      .select('secret_ciphertext')
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    const stored = Buffer.from(row.secret_ciphertext);
    assert.ok(!stored.toString('latin1').includes(user.secret));
    const codes = await app.database.db
      .selectFrom('two_factor_recovery_codes')
      .select('code_hash')
      .where('user_id', '=', user.id)
      .execute();
    assert.equal(codes.length, 10);
    for (const code of user.recoveryCodes) {
      assert.ok(!codes.some((c) => c.code_hash.includes(code.replaceAll('-', ''))));
    }
  });

  it('when a code is replayed, then it is refused the second time, and an earlier one too', async () => {
    const user = await enrolledUser();
    const code = codeAt(user.secret, 0);
    const first = await secondStep({ stepToken: await stepTokenOf(user), code });
    assert.equal(first.statusCode, 200, first.body);
    const again = await secondStep({ stepToken: await stepTokenOf(user), code });
    assert.equal(again.statusCode, 401, again.body);
    assert.equal(errorCode(again.body), 'TWO_FACTOR_CODE_USED');
    const earlier = await secondStep({
      stepToken: await stepTokenOf(user),
      code: codeAt(user.secret, -1),
    });
    assert.equal(earlier.statusCode, 401);
    const later = await secondStep({
      stepToken: await stepTokenOf(user),
      code: codeAt(user.secret, 1),
    });
    assert.equal(later.statusCode, 200, later.body);
  });

  it('when a code is from a neighbouring step inside the window, then it is accepted; outside it, refused', async () => {
    const user = await enrolledUser();
    // Enrolment accepted the step WINDOW back; each sign-in below moves forward.
    for (const steps of [-1, 0, 1, 2]) {
      const res = await secondStep({
        stepToken: await stepTokenOf(user),
        code: codeAt(user.secret, steps),
      });
      assert.equal(res.statusCode, 200, `${steps} steps: ${res.body}`);
    }
    const fresh = await enrolledUser();
    for (const steps of [WINDOW + 3, WINDOW + 10, -(WINDOW + 3)]) {
      const res = await secondStep({
        stepToken: await stepTokenOf(fresh),
        code: codeAt(fresh.secret, steps),
      });
      assert.equal(res.statusCode, 401, `${steps} steps: ${res.body}`);
      assert.equal(errorCode(res.body), 'INVALID_TWO_FACTOR_CODE');
    }
  });

  it('when a code is wrong, then 401 INVALID_TWO_FACTOR_CODE, and the step token still works', async () => {
    const user = await enrolledUser();
    const stepToken = await stepTokenOf(user);
    const right = codeAt(user.secret);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const res = await secondStep({ stepToken, code: wrong });
    assert.equal(res.statusCode, 401);
    assert.equal(errorCode(res.body), 'INVALID_TWO_FACTOR_CODE');
    const ok = await secondStep({ stepToken, code: right });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it('when a recovery code is used, then it works once, in any case and spacing', async () => {
    const user = await enrolledUser();
    const recovery = user.recoveryCodes[3]!;
    const typed = ` ${recovery.toLowerCase().replaceAll('-', ' ')} `;
    const first = await secondStep({ stepToken: await stepTokenOf(user), recoveryCode: typed });
    assert.equal(first.statusCode, 200, first.body);
    const again = await secondStep({ stepToken: await stepTokenOf(user), recoveryCode: recovery });
    assert.equal(again.statusCode, 401);
    assert.equal(errorCode(again.body), 'INVALID_TWO_FACTOR_CODE');
    const { accessToken } = first.json<{ data: { accessToken: string } }>().data;
    const status = await inject('GET', '/api/v1/users/me/two-factor', { token: accessToken });
    assert.equal(status.json<{ data: { recoveryCodesLeft: number } }>().data.recoveryCodesLeft, 9);
  });

  it('when both a code and a recovery code (or neither) are sent, then 400', async () => {
    const user = await enrolledUser();
    const stepToken = await stepTokenOf(user);
    for (const payload of [
      { stepToken },
      { stepToken, code: codeAt(user.secret), recoveryCode: user.recoveryCodes[0] },
    ]) {
      const res = await secondStep(payload);
      assert.equal(res.statusCode, 400, res.body);
    }
  });

  it('when a step token is forged, spent or expired, then 401', async () => {
    const user = await enrolledUser();
    const forged = await secondStep({
      stepToken: 'q3Zt8Yw1mXo4Lk0vB7nR2cHs9dFj5gPa6eUiTyWxQzE',
      code: codeAt(user.secret),
    });
    assert.equal(forged.statusCode, 401);
    assert.equal(errorCode(forged.body), 'INVALID_TOKEN');

    const stepToken = await stepTokenOf(user);
    assert.equal((await secondStep({ stepToken, code: codeAt(user.secret, 0) })).statusCode, 200);
    const spent = await secondStep({ stepToken, code: codeAt(user.secret, 1) });
    assert.equal(spent.statusCode, 401);
    assert.equal(errorCode(spent.body), 'INVALID_TOKEN');

    const late = await stepTokenOf(user);
    // The clock is the database's: move the challenge's end into the past.
    await app.database.db
      .updateTable('two_factor_challenges')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('user_id', '=', user.id)
      .where('used_at', 'is', null)
      .execute();
    const expired = await secondStep({ stepToken: late, code: codeAt(user.secret, 1) });
    assert.equal(expired.statusCode, 401);
    assert.equal(errorCode(expired.body), 'TOKEN_EXPIRED');
  });

  it('when a step token is sent as a Bearer token, then no route accepts it', async () => {
    const user = await enrolledUser();
    const stepToken = await stepTokenOf(user);
    for (const [method, url] of [
      ['GET', '/api/v1/users/me'],
      ['GET', `/api/v1/users/${user.id}/two-factor`],
      ['POST', '/api/v1/auth/logout'],
    ] as const) {
      const res = await inject(method, url, { token: stepToken });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
      assert.equal(errorCode(res.body), 'INVALID_TOKEN');
    }
  });

  it('when wrong codes exhaust the budget, then the code step answers 429, even to a right code', async () => {
    const user = await enrolledUser();
    const address = freshAddress();
    const stepToken = await stepTokenOf(user, address);
    const right = codeAt(user.secret);
    const wrong = String((Number(right) + 7) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < MAX_FAILURES; i++) {
      const res = await secondStep({ stepToken, code: wrong }, address);
      assert.equal(res.statusCode, 401, `attempt ${i + 1}`);
    }
    const refused = await secondStep({ stepToken, code: right }, address);
    assert.equal(refused.statusCode, 429, refused.body);
    assert.ok(refused.headers['retry-after']);
    assert.match(refused.body, /two-factor code attempts/);
    // A right password does not reset the code's budget: it has a key of its own.
    const again = await secondStep(
      { stepToken: await stepTokenOf(user, address), code: right },
      address,
    );
    assert.equal(again.statusCode, 429);
    // The account's log shows someone guessing at the code step.
    const throttled = await app.database.db
      .selectFrom('security_events')
      .select(['type', 'details'])
      .where('user_id', '=', user.id)
      .where('type', '=', 'sign-in-throttled')
      .execute();
    assert.equal(throttled.length, 2);
    assert.deepEqual(throttled[0]!.details, { method: 'totp' });
  });

  it('when one code is sent twice at once with two step tokens, then exactly one signs in', async () => {
    const user = await enrolledUser();
    const [a, b] = [await stepTokenOf(user), await stepTokenOf(user)];
    const code = codeAt(user.secret, 1);
    gate.hold(2);
    const results = await Promise.all([a, b].map((stepToken) => secondStep({ stepToken, code })));
    assert.equal(gate.maxInFlight, 2);
    const statuses = results.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [200, 401], results.map((r) => r.body).join('\n'));
    const loser = results.find((r) => r.statusCode === 401)!;
    assert.equal(errorCode(loser.body), 'TWO_FACTOR_CODE_USED');
  });

  it('when one step token and code are sent twice at once, then one session starts', async () => {
    const user = await enrolledUser();
    const stepToken = await stepTokenOf(user);
    const code = codeAt(user.secret, 1);
    gate.hold(2);
    const results = await Promise.all([1, 2].map(() => secondStep({ stepToken, code })));
    assert.equal(gate.maxInFlight, 2);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 401]);
  });

  it('when one recovery code is sent twice at once, then exactly one signs in', async () => {
    const user = await enrolledUser();
    const [a, b] = [await stepTokenOf(user), await stepTokenOf(user)];
    const recoveryCode = user.recoveryCodes[0]!;
    gate.hold(2);
    const results = await Promise.all(
      [a, b].map((stepToken) => secondStep({ stepToken, recoveryCode })),
    );
    assert.equal(gate.maxInFlight, 2);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 401]);
  });

  it('when enrolment starts again while pending, then the new secret replaces the old', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const start = async () =>
      (await inject('POST', '/api/v1/users/me/two-factor', { token: user.accessToken })).json<{
        data: { secret: string };
      }>().data.secret;
    const first = await start();
    const second = await start();
    assert.notEqual(first, second);
    const pending = await inject('GET', '/api/v1/users/me/two-factor', { token: user.accessToken });
    assert.equal(pending.json<{ data: { pending: boolean } }>().data.pending, true);
    const old = await inject('POST', '/api/v1/users/me/two-factor/confirm', {
      token: user.accessToken,
      payload: { code: codeAt(first) },
    });
    assert.equal(old.statusCode, 403);
    assert.equal(errorCode(old.body), 'INVALID_TWO_FACTOR_CODE');
    const confirmed = await inject('POST', '/api/v1/users/me/two-factor/confirm', {
      token: user.accessToken,
      payload: { code: codeAt(second) },
    });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    const whileEnabled = await inject('POST', '/api/v1/users/me/two-factor', {
      token: user.accessToken,
    });
    assert.equal(whileEnabled.statusCode, 409);
    assert.equal(errorCode(whileEnabled.body), 'TWO_FACTOR_ALREADY_ENABLED');
  });

  it('when confirm comes without a started enrolment, then 409 TWO_FACTOR_NOT_PENDING', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const res = await inject('POST', '/api/v1/users/me/two-factor/confirm', {
      token: user.accessToken,
      payload: { code: '123456' },
    });
    assert.equal(res.statusCode, 409);
    assert.equal(errorCode(res.body), 'TWO_FACTOR_NOT_PENDING');
  });

  it('when the user disables with password and code, then 204 and login gives tokens at once', async () => {
    const user = await enrolledUser();
    const url = '/api/v1/users/me/two-factor';
    const wrongPassword = await inject('DELETE', url, {
      token: user.accessToken,
      payload: { password: 'not the password', code: codeAt(user.secret, 0) },
    });
    assert.equal(wrongPassword.statusCode, 403);
    assert.equal(errorCode(wrongPassword.body), 'INVALID_CURRENT_PASSWORD');
    const noCode = await inject('DELETE', url, {
      token: user.accessToken,
      payload: { password: user.password },
    });
    assert.equal(noCode.statusCode, 400);
    const wrongCode = await inject('DELETE', url, {
      token: user.accessToken,
      payload: { password: user.password, code: codeAt(user.secret, WINDOW + 5) },
    });
    assert.equal(wrongCode.statusCode, 403);
    assert.equal(errorCode(wrongCode.body), 'INVALID_TWO_FACTOR_CODE');
    const res = await inject('DELETE', url, {
      token: user.accessToken,
      payload: { password: user.password, code: codeAt(user.secret, 0) },
    });
    assert.equal(res.statusCode, 204, res.body);
    const login = await inject('POST', '/api/v1/auth/login', {
      payload: { email: user.email, password: user.password },
    });
    assert.ok(login.json<{ data: { accessToken?: string } }>().data.accessToken);
    const again = await inject('DELETE', url, {
      token: user.accessToken,
      payload: { password: user.password, code: codeAt(user.secret, 1) },
    });
    assert.equal(again.statusCode, 409);
    assert.equal(errorCode(again.body), 'TWO_FACTOR_NOT_ENABLED');
  });

  it('when the user disables with a recovery code, then 204', async () => {
    const user = await enrolledUser();
    const res = await inject('DELETE', `/api/v1/users/${user.id}/two-factor`, {
      token: user.accessToken,
      payload: { password: user.password, recoveryCode: user.recoveryCodes[9] },
    });
    assert.equal(res.statusCode, 204, res.body);
  });

  it("when an admin disables another user's two-factor, then 204; another user gets 404", async () => {
    const user = await enrolledUser();
    const other = await createUserAndLogin(app.server, app.services);
    const url = `/api/v1/users/${user.id}/two-factor`;
    const byOther = await inject('DELETE', url, { token: other.accessToken });
    assert.equal(byOther.statusCode, 404);
    const status = await inject('GET', url, { token: other.accessToken });
    assert.equal(status.statusCode, 404);
    const admin = await createUserAndLogin(app.server, app.services, 'admin');
    const adminStatus = await inject('GET', url, { token: admin.accessToken });
    assert.equal(adminStatus.json<{ data: { enabled: boolean } }>().data.enabled, true);
    const startForOther = await inject('POST', url, { token: admin.accessToken });
    assert.equal(startForOther.statusCode, 403);
    const res = await inject('DELETE', url, { token: admin.accessToken });
    assert.equal(res.statusCode, 204, res.body);
    const after = await inject('GET', url, { token: admin.accessToken });
    assert.equal(after.json<{ data: { enabled: boolean } }>().data.enabled, false);
  });

  it('when a suspended account passes the code step, then 403 ACCOUNT_SUSPENDED', async () => {
    const user = await enrolledUser();
    const stepToken = await stepTokenOf(user);
    const admin = { userId: randomUUID(), role: 'admin' as const };
    await app.services.users.updateUser(admin, user.id, { status: 'suspended' });
    const res = await secondStep({ stepToken, code: codeAt(user.secret, 0) });
    assert.equal(res.statusCode, 403);
    assert.equal(errorCode(res.body), 'ACCOUNT_SUSPENDED');
  });

  it('when one first code confirms twice at once, then one enables and the other is refused', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const started = await inject('POST', '/api/v1/users/me/two-factor', {
      token: user.accessToken,
    });
    const { secret } = started.json<{ data: { secret: string } }>().data;
    const code = codeAt(secret);
    const results = await Promise.all(
      [1, 2].map(() =>
        inject('POST', '/api/v1/users/me/two-factor/confirm', {
          token: user.accessToken,
          payload: { code },
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.statusCode).sort(),
      [200, 409],
      results.map((r) => r.body).join('\n'),
    );
    const codes = await app.database.db
      .selectFrom('two_factor_recovery_codes')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    assert.equal(codes.length, 10, 'one set of recovery codes');
  });

  it('when enrolment goes through GraphQL, then User.twoFactorEnabled follows it and REST agrees', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const token = user.accessToken;
    const enabled = async () =>
      (
        await graphql<{ me: { twoFactorEnabled: boolean } }>(
          app.server,
          '{ me { twoFactorEnabled } }',
          { token },
        )
      ).body.data?.me.twoFactorEnabled;
    assert.equal(await enabled(), false);
    const started = await graphql<{ startTwoFactor: { secret: string; otpauthUri: string } }>(
      app.server,
      'mutation { startTwoFactor { secret otpauthUri } }',
      { token },
    );
    const { secret } = started.body.data!.startTwoFactor;
    const confirmed = await graphql<{ confirmTwoFactor: { recoveryCodes: string[] } }>(
      app.server,
      'mutation ($code: String!) { confirmTwoFactor(code: $code) { enabledAt recoveryCodes } }',
      { token, variables: { code: codeAt(secret, -1) } },
    );
    assert.deepEqual(codesOf(confirmed.body), []);
    assert.equal(confirmed.body.data!.confirmTwoFactor.recoveryCodes.length, 10);
    assert.equal(await enabled(), true);
    const stepToken = await stepTokenOf(user);
    assert.ok(stepToken, 'REST login now asks for the code');
    const wrong = await graphql(
      app.server,
      'mutation ($p: String, $c: String) { disableTwoFactor(password: $p, code: $c) }',
      { token, variables: { p: user.password, c: codeAt(secret, WINDOW + 4) } },
    );
    assert.deepEqual(codesOf(wrong.body), ['INVALID_TWO_FACTOR_CODE']);
    const disabled = await graphql(
      app.server,
      'mutation ($p: String, $c: String) { disableTwoFactor(password: $p, code: $c) }',
      { token, variables: { p: user.password, c: codeAt(secret, 0) } },
    );
    assert.deepEqual(codesOf(disabled.body), []);
    assert.equal(await enabled(), false);
  });

  it('when two-factor is used, then the security log gets each event, with the method of a sign-in', async () => {
    const events: SecurityEventInput[] = [];
    const log = app.services.securityLog;
    const record = log.record.bind(log);
    log.record = async (event) => void events.push(event);
    try {
      const user = await enrolledUser();
      const wrong = await secondStep({
        stepToken: await stepTokenOf(user),
        code: codeAt(user.secret, WINDOW + 5),
      });
      assert.equal(wrong.statusCode, 401);
      await secondStep({ stepToken: await stepTokenOf(user), code: codeAt(user.secret, 0) });
      await secondStep({ stepToken: await stepTokenOf(user), recoveryCode: user.recoveryCodes[1] });
      const admin = await createUserAndLogin(app.server, app.services, 'admin');
      await inject('DELETE', `/api/v1/users/${user.id}/two-factor`, { token: admin.accessToken });
      // Leave out the fixture's own account creation and password sign-in.
      const ours = events
        .filter((e) => e.userId === user.id)
        .filter((e) => e.type !== 'account-created' && e.details?.method !== 'password');
      const mine = ours.map((e) => ({
        type: e.type,
        outcome: e.outcome,
        actor: e.actorId,
        ...e.details,
      }));
      assert.deepEqual(mine, [
        { type: 'two-factor-enabled', outcome: 'success', actor: user.id },
        { type: 'two-factor-failed', outcome: 'failure', actor: null, step: 'totp' },
        { type: 'sign-in', outcome: 'success', actor: user.id, method: 'totp' },
        { type: 'sign-in', outcome: 'success', actor: user.id, method: 'recovery-code' },
        { type: 'recovery-code-used', outcome: 'success', actor: null },
        { type: 'two-factor-disabled', outcome: 'success', actor: admin.id, by: 'admin' },
      ]);
      assert.ok(ours.every((e) => e.requestId && e.ip));
      assert.doesNotMatch(JSON.stringify(events), new RegExp(user.secret));
    } finally {
      log.record = record;
    }
  });

  it('when an account without two-factor logs in, then the token pair comes at once', async () => {
    const user = await createUserAndLogin(app.server, app.services);
    const res = await inject('POST', '/api/v1/auth/login', {
      payload: { email: user.email, password: user.password },
      address: `10.78.${randomInt(255)}.1`,
    });
    const data = res.json<{ data: Record<string, unknown> }>().data;
    assert.ok(data.accessToken);
    assert.equal(data.twoFactorRequired, undefined);
  });
});

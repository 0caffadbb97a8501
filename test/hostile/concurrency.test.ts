import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import { bearer, createUserAndLogin, login, type TestUser } from '../support/auth.js';
import { assertLedgerInvariants } from '../support/ledger.js';
import { abbreviate, envelopeProblem } from './support/findings.js';
import { banner, BUDGET_MS, reportPath, RUNS, selected } from './support/settings.js';
import { freshEmail, PRODUCT, someAddress, World, worldSkip } from './support/world.js';

/**
 * Concurrency: N identical state-changing requests at once, on a fresh resource. The answers
 * and the state afterwards must be those of SOME serial order of the N requests, as a small
 * model per operation says (one creation and N-1 conflicts, k payments where the balance
 * allows k, one movement per Idempotency-Key...).
 */

const N = 8;
/** Rounds per case: HOSTILE_RUNS scales them too. */
const ROUNDS = Math.max(2, Math.ceil(RUNS / 3));

interface Answer {
  /** `METHOD url` of the request it answers. */
  request: string;
  status: number;
  code?: string;
  body: unknown;
  replayed: boolean;
}

interface CaseResult {
  name: string;
  violations: string[];
  statuses: string;
}

describe('hostile concurrency (PostgreSQL + Redis)', { skip: worldSkip }, () => {
  let world: World;
  let strict: World;
  let admin: TestUser;
  const results: CaseResult[] = [];
  /** This file's share of HOSTILE_BUDGET_MS (the inputs file takes the rest). */
  const deadline = Date.now() + BUDGET_MS * 0.22;

  before(async () => {
    console.log(banner('concurrency'));
    world = await World.start();
    // The same app with every reuse of a refresh token ending its family.
    strict = await World.start(undefined, { JWT_REFRESH_REUSE_GRACE: '0' });
    admin = world.admin;
  });

  after(async () => {
    if (!world) return;
    const failing = results.filter((r) => r.violations.length);
    const path = reportPath('concurrency');
    writeFileSync(path, JSON.stringify(results, null, 2));
    console.log(
      `\nConcurrency cases: ${results.length}, failing ${failing.length} (report: ${path})` +
        failing
          .map((r) => `\n- ${r.name} [${r.statuses}]\n    ${r.violations.join('\n    ')}`)
          .join(''),
    );
    await world.close();
    await strict?.close();
  });

  const server = () => world.server;
  const services = () => world.app.services;
  const db = () => world.app.database.db;

  /** N requests at once; each answer with its status, code and body. */
  async function burst(make: (i: number) => InjectOptions, on = world): Promise<Answer[]> {
    const requests = Array.from({ length: N }, (_, i) => make(i));
    const responses = await Promise.all(
      requests.map((r) => on.server.inject({ remoteAddress: someAddress(), ...r })),
    );
    return responses.map((res, i) => {
      let body: unknown;
      try {
        body = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        body = res.body;
      }
      const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
      return {
        request: `${requests[i]!.method as string} ${requests[i]!.url as string}`,
        status: res.statusCode,
        code,
        body,
        replayed: res.headers['idempotent-replayed'] === 'true',
      };
    });
  }

  const tally = (answers: Answer[]) => {
    const counts = new Map<string, number>();
    for (const a of answers) {
      const key = `${a.status}${a.code ? ` ${a.code}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts]
      .sort()
      .map(([k, n]) => `${n}×${k}`)
      .join(', ');
  };

  /** The answers' common faults: a 5xx, an error that isn't the envelope with a documented code. */
  function commonViolations(answers: Answer[]): string[] {
    const violations: string[] = [];
    for (const a of answers) {
      if (a.status >= 500) {
        const { message } = (a.body as { error?: { message?: string } } | undefined)?.error ?? {};
        violations.push(`${a.request}: ${a.status} ${a.code ?? ''} "${message ?? ''}"`);
      } else if (a.status >= 400) {
        const problem = envelopeProblem(a.status, JSON.stringify(a.body));
        if (problem) {
          violations.push(`${a.request}: ${problem.kind}: ${JSON.stringify(abbreviate(a.body))}`);
        }
      }
    }
    return violations;
  }

  /** Runs a case: the burst, the model's check of answers and state, the ledger. */
  function scenario(name: string, run: () => Promise<{ answers: Answer[]; violations: string[] }>) {
    it(name, { skip: !selected(name) }, async () => {
      // Each round on fresh resources: a race that shows once in a few tries still shows.
      const all: string[] = [];
      const statuses: string[] = [];
      // Past this file's share of the budget, one round per case.
      const rounds = Date.now() < deadline ? ROUNDS : 1;
      for (let round = 1; round <= rounds; round++) {
        const { answers, violations } = await run();
        const found = [...commonViolations(answers), ...violations];
        all.push(...found.map((v) => `round ${round}: ${v}`));
        statuses.push(tally(answers));
      }
      const distinct = [...new Set(statuses)].join(' | ');
      results.push({ name, violations: all, statuses: distinct });
      assert.deepEqual(all, [], `${name}: ${distinct}`);
    });
  }

  const expect = (violations: string[], ok: boolean, message: string) => {
    if (!ok) violations.push(message);
  };
  const count = (answers: Answer[], status: number, code?: string) =>
    answers.filter((a) => a.status === status && (code === undefined || a.code === code)).length;
  const dataOf = (a: Pick<Answer, 'body'>) =>
    (a.body as { data?: Record<string, unknown> } | undefined)?.data;

  async function freshUser(): Promise<TestUser & { walletId: string }> {
    const user = await createUserAndLogin(server(), services());
    const wallet = await services().accounts.walletOf(user.id);
    return { ...user, walletId: wallet!.id };
  }

  async function balanceOf(walletId: string): Promise<number> {
    const res = await server().inject({
      method: 'GET',
      url: `/api/v1/accounts/${walletId}`,
      headers: bearer(admin.accessToken),
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ data: { balance: number } }>().data.balance;
  }

  async function fund(walletId: string, amount: number) {
    await services().accounts.deposit({ userId: world.admin.id, role: 'admin' }, walletId, {
      amount,
      currency: 'USD',
    });
  }

  async function usersWithEmail(email: string): Promise<number> {
    const rows = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM users WHERE lower(email) = lower(${email})`.execute(db());
    return rows.rows[0]?.n ?? 0;
  }

  async function ordersOf(userId: string): Promise<{ status: string }[]> {
    const rows = await sql<{ status: string }>`
      SELECT status FROM orders WHERE user_id = ${userId}`.execute(db());
    return rows.rows;
  }

  const json = (method: InjectOptions['method'], url: string, payload?: object, headers = {}) =>
    ({ method, url, payload, headers }) as InjectOptions;

  /** One creation, N-1 conflicts, one row. */
  function oneCreation(
    name: string,
    url: string,
    token: () => string | undefined,
    emails: (i: number, base: string) => string,
  ) {
    scenario(name, async () => {
      const base = freshEmail();
      const t = token();
      const answers = await burst((i) =>
        json(
          'POST',
          url,
          { name: 'Racer', email: emails(i, base), password: 'long enough pw' },
          t ? bearer(t) : {},
        ),
      );
      const violations: string[] = [];
      expect(
        violations,
        count(answers, 201) === 1,
        `expected exactly one 201, got ${count(answers, 201)}`,
      );
      expect(
        violations,
        count(answers, 409, 'EMAIL_TAKEN') === N - 1,
        `expected ${N - 1}×409 EMAIL_TAKEN`,
      );
      const rows = await usersWithEmail(base);
      expect(violations, rows === 1, `expected one user with ${base} in any case, found ${rows}`);
      return { answers, violations };
    });
  }

  oneCreation(
    'register: the same email N times',
    '/api/v1/auth/register',
    () => undefined,
    (_i, e) => e,
  );
  oneCreation(
    'register: the same email in N letter cases',
    '/api/v1/auth/register',
    () => undefined,
    (i, e) => (i % 2 ? e.toUpperCase() : e.replace(/^h/, 'H')),
  );
  oneCreation(
    'create user: the same email N times',
    '/api/v1/users',
    () => admin.accessToken,
    (_i, e) => e,
  );

  scenario('patch user: the same body N times', async () => {
    const target = await freshUser();
    const answers = await burst(() =>
      json('PATCH', `/api/v1/users/${target.id}`, { name: 'Same' }, bearer(admin.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 200) === N, `expected ${N}×200`);
    const user = await services().users.getUser(
      { userId: world.admin.id, role: 'admin' },
      target.id,
    );
    expect(violations, user.name === 'Same', `name is ${user.name}`);
    return { answers, violations };
  });

  scenario('patch user: N different names at once', async () => {
    const target = await freshUser();
    const names = Array.from({ length: N }, (_, i) => `Name ${i}`);
    const answers = await burst((i) =>
      json('PATCH', `/api/v1/users/${target.id}`, { name: names[i] }, bearer(admin.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 200) === N, `expected ${N}×200`);
    const user = await services().users.getUser(
      { userId: world.admin.id, role: 'admin' },
      target.id,
    );
    expect(violations, names.includes(user.name), `final name ${user.name} is none of those sent`);
    return { answers, violations };
  });

  scenario('delete user: N times', async () => {
    const target = await freshUser();
    const answers = await burst(() =>
      json('DELETE', `/api/v1/users/${target.id}`, undefined, bearer(admin.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 204) === 1, `expected one 204, got ${count(answers, 204)}`);
    expect(violations, count(answers, 404) === N - 1, `expected ${N - 1}×404`);
    const res = await server().inject(
      json('GET', `/api/v1/users/${target.id}`, undefined, bearer(admin.accessToken)),
    );
    expect(violations, res.statusCode === 404, `the user still answers ${res.statusCode}`);
    return { answers, violations };
  });

  scenario('logout: the same token N times', async () => {
    // Modelled as idempotent: a request authenticated before the revocation may answer 204
    // too, but after the burst the session is over whatever the order.
    const target = await freshUser();
    const answers = await burst(() =>
      json('POST', '/api/v1/auth/logout', undefined, bearer(target.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 204) >= 1, 'no logout succeeded');
    expect(
      violations,
      answers.every((a) => a.status === 204 || a.status === 401),
      'answers other than 204 and 401',
    );
    const me = await server().inject(
      json('GET', '/api/v1/users/me', undefined, bearer(target.accessToken)),
    );
    expect(violations, me.statusCode === 401, `the access token still answers ${me.statusCode}`);
    const refresh = await server().inject(
      json('POST', '/api/v1/auth/refresh', { refreshToken: target.refreshToken }),
    );
    expect(
      violations,
      refresh.statusCode === 401,
      `the session's refresh token still answers ${refresh.statusCode}`,
    );
    return { answers, violations };
  });

  scenario('refresh: the same token N times (default reuse grace)', () => refreshBurst(world));

  scenario('refresh: the same token N times, no reuse grace', () => refreshBurst(strict));

  /**
   * Serially: the first refresh rotates the token; within JWT_REFRESH_REUSE_GRACE each repeat
   * gets the same sealed successor, past it (or with none) each repeat is a reuse that ends the
   * family, the successor with it. A mix of the two, or several successors, fits no order.
   */
  async function refreshBurst(w: World) {
    const user = await createUserAndLogin(w.server, w.app.services);
    const answers = await burst(
      () => json('POST', '/api/v1/auth/refresh', { refreshToken: user.refreshToken }),
      w,
    );
    const violations: string[] = [];
    const ok = answers.filter((a) => a.status === 200);
    const reused = count(answers, 401, 'REFRESH_TOKEN_REUSED');
    const successors = ok.map((a) => dataOf(a) as { refreshToken: string; accessToken: string });
    const works = async (s: { refreshToken: string }) =>
      (
        await w.server.inject(
          json('POST', '/api/v1/auth/refresh', { refreshToken: s.refreshToken }),
        )
      ).statusCode === 200;
    // After the first reuse ends the family, a later one finds the token revoked: INVALID_TOKEN.
    const revoked = count(answers, 401, 'INVALID_TOKEN');
    if (ok.length === 1 && reused >= 1 && reused + revoked === N - 1) {
      expect(
        violations,
        !(await works(successors[0]!)),
        'after a reuse the successor still refreshes',
      );
    } else if (ok.length === N) {
      const distinct = new Set(successors.map((s) => s.refreshToken)).size;
      expect(violations, distinct === 1, `${distinct} different successors: the family forked`);
      expect(violations, await works(successors[0]!), 'the successor of the grace window is dead');
    } else {
      violations.push(
        `answers fit no serial order: ${ok.length}×200, ${reused}×401 REFRESH_TOKEN_REUSED, ` +
          `${revoked}×401 INVALID_TOKEN`,
      );
    }
    return { answers, violations };
  }

  scenario('create product: the same body N times', async () => {
    const answers = await burst(() =>
      json('POST', '/api/v1/products', { ...PRODUCT, name: 'Racer' }, bearer(admin.accessToken)),
    );
    const violations: string[] = [];
    const ids = new Set(answers.map((a) => dataOf(a)?.id));
    expect(
      violations,
      count(answers, 201) === N && ids.size === N,
      `expected ${N}×201 with ${N} ids`,
    );
    return { answers, violations };
  });

  scenario('patch product: the same body N times', async () => {
    const id = await world.freshProduct();
    const answers = await burst(() =>
      json('PATCH', `/api/v1/products/${id}`, { priceMinor: 4242 }, bearer(admin.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 200) === N, `expected ${N}×200`);
    const product = await services().products.getProduct(
      { userId: world.admin.id, role: 'admin' },
      id,
    );
    expect(violations, product.priceMinor === 4242, `price is ${product.priceMinor}`);
    return { answers, violations };
  });

  scenario('create post: the same body N times', async () => {
    const author = await freshUser();
    const answers = await burst(() =>
      json(
        'POST',
        '/api/v1/posts',
        { title: 'Racer', content: 'Same body.' },
        bearer(author.accessToken),
      ),
    );
    const violations: string[] = [];
    const ids = new Set(answers.map((a) => dataOf(a)?.id));
    expect(
      violations,
      count(answers, 201) === N && ids.size === N,
      `expected ${N}×201 with ${N} ids`,
    );
    return { answers, violations };
  });

  scenario('patch post: the same body N times', async () => {
    const id = await world.freshPost(world.user);
    const answers = await burst(() =>
      json('PATCH', `/api/v1/posts/${id}`, { content: 'Raced.' }, bearer(world.user.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 200) === N, `expected ${N}×200`);
    const post = await services().posts.getPost({ userId: world.user.id, role: 'user' }, id);
    expect(violations, post.content === 'Raced.', `content is ${post.content}`);
    return { answers, violations };
  });

  scenario('delete post: N times', async () => {
    const id = await world.freshPost(world.user);
    const answers = await burst(() =>
      json('DELETE', `/api/v1/posts/${id}`, undefined, bearer(world.user.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 204) === 1, `expected one 204, got ${count(answers, 204)}`);
    expect(violations, count(answers, 404) === N - 1, `expected ${N - 1}×404`);
    return { answers, violations };
  });

  /** Transfers or deposits under one key: one movement, N identical answers. */
  async function sameKey(
    request: (key: string) => InjectOptions,
    walletId: string,
    amount: number,
    before: number,
  ) {
    const key = randomUUID();
    const answers = await burst(() => request(key));
    const violations: string[] = [];
    expect(violations, count(answers, 201) === N, `expected ${N}×201 (one effect, N-1 replays)`);
    const ids = new Set(answers.map((a) => JSON.stringify(dataOf(a))));
    expect(violations, ids.size === 1, `the answers differ: ${ids.size} distinct bodies`);
    expect(
      violations,
      answers.filter((a) => a.replayed).length === N - 1,
      'expected N-1 answers marked idempotent-replayed',
    );
    const after = await balanceOf(walletId);
    expect(
      violations,
      after === before + amount,
      `balance moved by ${after - before}, not ${amount}`,
    );
    return { answers, violations };
  }

  scenario('transfer: the same Idempotency-Key N times', async () => {
    const payer = await freshUser();
    const payee = await freshUser();
    await fund(payer.walletId, 10_000);
    const before = await balanceOf(payee.walletId);
    return sameKey(
      (key) =>
        json(
          'POST',
          '/api/v1/transfers',
          {
            fromAccountId: payer.walletId,
            toAccountId: payee.walletId,
            amount: 700,
            currency: 'USD',
          },
          { ...bearer(payer.accessToken), 'idempotency-key': key },
        ),
      payee.walletId,
      700,
      before,
    );
  });

  scenario('transfer: one Idempotency-Key, N different amounts', async () => {
    const payer = await freshUser();
    const payee = await freshUser();
    await fund(payer.walletId, 10_000);
    const key = randomUUID();
    const answers = await burst((i) =>
      json(
        'POST',
        '/api/v1/transfers',
        {
          fromAccountId: payer.walletId,
          toAccountId: payee.walletId,
          amount: 100 + i,
          currency: 'USD',
        },
        { ...bearer(payer.accessToken), 'idempotency-key': key },
      ),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 201) === 1, `expected one 201, got ${count(answers, 201)}`);
    expect(
      violations,
      count(answers, 422, 'IDEMPOTENCY_KEY_REUSED') === N - 1,
      `expected ${N - 1}×422 IDEMPOTENCY_KEY_REUSED`,
    );
    const won = answers.find((a) => a.status === 201);
    const amount = (dataOf(won ?? { body: {} })?.amount as number | undefined) ?? 0;
    const moved = (await balanceOf(payee.walletId)) - 0;
    expect(violations, moved === amount, `payee received ${moved}, the answer says ${amount}`);
    return { answers, violations };
  });

  scenario('transfer: N different keys, funds for 5', async () => {
    const payer = await freshUser();
    const payee = await freshUser();
    const amount = 300;
    await fund(payer.walletId, 5 * amount);
    const answers = await burst(() =>
      json(
        'POST',
        '/api/v1/transfers',
        { fromAccountId: payer.walletId, toAccountId: payee.walletId, amount, currency: 'USD' },
        { ...bearer(payer.accessToken), 'idempotency-key': randomUUID() },
      ),
    );
    const violations: string[] = [];
    const k = count(answers, 201);
    const refused = answers.filter(
      (a) => (a.status === 422 || a.status === 402) && a.code === 'INSUFFICIENT_FUNDS',
    ).length;
    expect(violations, k === 5, `expected 5×201 (the funds allow 5), got ${k}`);
    expect(
      violations,
      refused === N - k,
      `expected the other ${N - k} refused with INSUFFICIENT_FUNDS`,
    );
    const [left, got] = [await balanceOf(payer.walletId), await balanceOf(payee.walletId)];
    expect(
      violations,
      left === 5 * amount - k * amount,
      `payer holds ${left}, expected ${5 * amount - k * amount}`,
    );
    expect(violations, got === k * amount, `payee holds ${got}, expected ${k * amount}`);
    return { answers, violations };
  });

  scenario('transfer: one key shared by two payers', async () => {
    // Keys belong to their owner: the same key from two users is two requests.
    const [first, second, payee] = [await freshUser(), await freshUser(), await freshUser()];
    await fund(first.walletId, 1_000);
    await fund(second.walletId, 1_000);
    const key = randomUUID();
    const answers = await burst((i) => {
      const payer = i % 2 ? second : first;
      return json(
        'POST',
        '/api/v1/transfers',
        {
          fromAccountId: payer.walletId,
          toAccountId: payee.walletId,
          amount: 100,
          currency: 'USD',
        },
        { ...bearer(payer.accessToken), 'idempotency-key': key },
      );
    });
    const violations: string[] = [];
    expect(violations, count(answers, 201) === N, `expected ${N}×201`);
    const balances = await Promise.all([first, second, payee].map((u) => balanceOf(u.walletId)));
    expect(
      violations,
      balances.join() === '900,900,200',
      `balances ${balances.join()}, expected 900,900,200 (one movement per payer)`,
    );
    return { answers, violations };
  });

  scenario('transfer: both directions between two wallets at once', async () => {
    const [a, b] = [await freshUser(), await freshUser()];
    await fund(a.walletId, 10_000);
    await fund(b.walletId, 10_000);
    const answers = await burst((i) => {
      const [from, to] = i % 2 ? [b, a] : [a, b];
      return json(
        'POST',
        '/api/v1/transfers',
        { fromAccountId: from.walletId, toAccountId: to.walletId, amount: 100, currency: 'USD' },
        { ...bearer(from.accessToken), 'idempotency-key': randomUUID() },
      );
    });
    const violations: string[] = [];
    expect(
      violations,
      count(answers, 201) === N,
      `expected ${N}×201 (no deadlock is the client's)`,
    );
    const balances = [await balanceOf(a.walletId), await balanceOf(b.walletId)];
    const net =
      (count(
        answers.filter((_, i) => i % 2 === 1),
        201,
      ) -
        count(
          answers.filter((_, i) => i % 2 === 0),
          201,
        )) *
      100;
    expect(
      violations,
      balances[0] === 10_000 + net && balances[1] === 10_000 - net,
      `balances ${balances.join()}, the answers say a net ${net} to the first`,
    );
    return { answers, violations };
  });

  scenario('patch user: two users to the same new email at once', async () => {
    const [a, b] = [await freshUser(), await freshUser()];
    const email = freshEmail();
    const answers = await burst((i) =>
      json('PATCH', `/api/v1/users/${(i % 2 ? b : a).id}`, { email }, bearer(admin.accessToken)),
    );
    const violations: string[] = [];
    const forA = answers.filter((_, i) => i % 2 === 0).map((x) => x.status);
    const forB = answers.filter((_, i) => i % 2 === 1).map((x) => x.status);
    const allOf = (list: number[], status: number) => list.every((s) => s === status);
    const aWon = allOf(forA, 200) && allOf(forB, 409);
    const bWon = allOf(forB, 200) && allOf(forA, 409);
    expect(
      violations,
      aWon || bWon,
      `answers fit no serial order: a ${forA.join()}, b ${forB.join()}`,
    );
    const holders = await usersWithEmail(email);
    expect(violations, holders === 1, `${holders} users hold ${email}`);
    return { answers, violations };
  });

  scenario('deposit: the same Idempotency-Key N times', async () => {
    const target = await freshUser();
    const before = await balanceOf(target.walletId);
    return sameKey(
      (key) =>
        json(
          'POST',
          `/api/v1/accounts/${target.walletId}/deposits`,
          { amount: 500, currency: 'USD' },
          { ...bearer(admin.accessToken), 'idempotency-key': key },
        ),
      target.walletId,
      500,
      before,
    );
  });

  scenario('deposit: N without a key', async () => {
    const target = await freshUser();
    const answers = await burst(() =>
      json(
        'POST',
        `/api/v1/accounts/${target.walletId}/deposits`,
        { amount: 500, currency: 'USD' },
        bearer(admin.accessToken),
      ),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 201) === N, `expected ${N}×201`);
    const balance = await balanceOf(target.walletId);
    expect(violations, balance === N * 500, `balance ${balance}, expected ${N * 500}`);
    return { answers, violations };
  });

  scenario('place order: the same Idempotency-Key N times', async () => {
    const buyer = await freshUser();
    await fund(buyer.walletId, 100_000);
    const key = randomUUID();
    const answers = await burst(() =>
      json(
        'POST',
        `/api/v1/users/${buyer.id}/orders`,
        { items: [{ productId: world.productId, quantity: 2 }] },
        { ...bearer(buyer.accessToken), 'idempotency-key': key },
      ),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 201) === N, `expected ${N}×201 (one order, N-1 replays)`);
    const bodies = new Set(answers.map((a) => JSON.stringify(dataOf(a))));
    expect(violations, bodies.size === 1, `the answers differ: ${bodies.size} distinct bodies`);
    const orders = await ordersOf(buyer.id);
    expect(violations, orders.length === 1, `${orders.length} orders placed`);
    const balance = await balanceOf(buyer.walletId);
    expect(violations, balance === 100_000 - 2 * PRODUCT.priceMinor, `balance ${balance}`);
    return { answers, violations };
  });

  scenario('place order: N without a key, funds for 3', async () => {
    const buyer = await freshUser();
    await fund(buyer.walletId, 3 * PRODUCT.priceMinor);
    const answers = await burst(() =>
      json(
        'POST',
        `/api/v1/users/${buyer.id}/orders`,
        { items: [{ productId: world.productId, quantity: 1 }] },
        bearer(buyer.accessToken),
      ),
    );
    const violations: string[] = [];
    const k = count(answers, 201);
    expect(violations, k === 3, `expected 3×201 (the funds allow 3), got ${k}`);
    expect(
      violations,
      count(answers, 402, 'INSUFFICIENT_FUNDS') === N - k,
      `expected ${N - k}×402 INSUFFICIENT_FUNDS`,
    );
    const orders = await ordersOf(buyer.id);
    const paid = orders.filter((o) => o.status === 'paid').length;
    expect(violations, paid === k, `${paid} paid orders, ${k} answers said paid`);
    expect(
      violations,
      orders.length === N,
      `${orders.length} orders kept, expected ${N} (paid or payment_failed)`,
    );
    const balance = await balanceOf(buyer.walletId);
    expect(violations, balance === (3 - k) * PRODUCT.priceMinor, `balance ${balance}`);
    return { answers, violations };
  });

  scenario('place order while its price changes', async () => {
    // Half the requests order, half reprice: each order is charged the price of one moment,
    // and the wallet paid exactly what the answers say.
    const productId = await world.freshProduct();
    const buyer = await freshUser();
    await fund(buyer.walletId, 100_000);
    const prices = [PRODUCT.priceMinor, 1_111, 2_222, 3_333, 4_444];
    const answers = await burst((i) =>
      i % 2
        ? json(
            'PATCH',
            `/api/v1/products/${productId}`,
            { priceMinor: prices[(i + 1) / 2] },
            bearer(admin.accessToken),
          )
        : json(
            'POST',
            `/api/v1/users/${buyer.id}/orders`,
            { items: [{ productId, quantity: 1 }] },
            bearer(buyer.accessToken),
          ),
    );
    const violations: string[] = [];
    const orders = answers.filter((_, i) => i % 2 === 0);
    expect(violations, count(orders, 201) === orders.length, `orders answered ${tally(orders)}`);
    const totals = orders.map((a) => Number(dataOf(a)?.total));
    expect(
      violations,
      totals.every((t) => prices.includes(t)),
      `totals ${totals.join()} are not prices`,
    );
    const balance = await balanceOf(buyer.walletId);
    const paid = totals.reduce((sum, t) => sum + (Number.isFinite(t) ? t : 0), 0);
    expect(
      violations,
      balance === 100_000 - paid,
      `balance ${balance}, the answers charged ${paid}`,
    );
    return { answers, violations };
  });

  scenario('delete a user while they order and transfer', async () => {
    // Whatever the order, the money adds up: the wallet lost exactly what the 201s moved.
    const buyer = await freshUser();
    const payee = await freshUser();
    await fund(buyer.walletId, 100_000);
    const answers = await burst((i) => {
      if (i === 0)
        return json('DELETE', `/api/v1/users/${buyer.id}`, undefined, bearer(admin.accessToken));
      if (i % 2) {
        return json(
          'POST',
          `/api/v1/users/${buyer.id}/orders`,
          { items: [{ productId: world.productId, quantity: 1 }] },
          bearer(buyer.accessToken),
        );
      }
      return json(
        'POST',
        '/api/v1/transfers',
        {
          fromAccountId: buyer.walletId,
          toAccountId: payee.walletId,
          amount: 100,
          currency: 'USD',
        },
        { ...bearer(buyer.accessToken), 'idempotency-key': randomUUID() },
      );
    });
    const violations: string[] = [];
    expect(violations, answers[0]?.status === 204, `the deletion answered ${answers[0]?.status}`);
    const ordered = answers.filter((a, i) => i % 2 === 1 && a.status === 201);
    const moved = answers.filter((a, i) => i > 0 && i % 2 === 0 && a.status === 201).length * 100;
    const spent = ordered.reduce((sum, a) => sum + Number(dataOf(a)?.total ?? 0), 0);
    const rows = await sql<{ balance: string }>`
      SELECT balance_minor::text AS balance FROM accounts WHERE id = ${buyer.walletId}`.execute(
      db(),
    );
    const balance = Number(rows.rows[0]?.balance ?? NaN);
    expect(
      violations,
      balance === 100_000 - spent - moved,
      `wallet holds ${balance}, the answers moved ${spent + moved}`,
    );
    const payeeBalance = await balanceOf(payee.walletId);
    expect(
      violations,
      payeeBalance === moved,
      `payee holds ${payeeBalance}, the answers moved ${moved}`,
    );
    return { answers, violations };
  });

  scenario('delete a user while they post, edit themselves and get deposits', async () => {
    // Serially each request runs before or after the deletion: a success, or a 401/404.
    const target = await freshUser();
    const postId = await world.freshPost(world.user);
    const requests: ((i: number) => InjectOptions)[] = [
      () => json('DELETE', `/api/v1/users/${target.id}`, undefined, bearer(admin.accessToken)),
      () =>
        json(
          'POST',
          '/api/v1/posts',
          { title: 'Racer', content: 'Mid-deletion.' },
          bearer(target.accessToken),
        ),
      () =>
        json(
          'PATCH',
          `/api/v1/users/${target.id}`,
          { name: 'Renamed' },
          bearer(target.accessToken),
        ),
      () =>
        json(
          'POST',
          `/api/v1/accounts/${target.walletId}/deposits`,
          { amount: 100, currency: 'USD' },
          bearer(admin.accessToken),
        ),
      () => json('POST', '/api/v1/auth/refresh', { refreshToken: target.refreshToken }),
      () =>
        json('GET', `/api/v1/users/${target.id}/accounts`, undefined, bearer(target.accessToken)),
      () =>
        json(
          'PATCH',
          `/api/v1/posts/${postId}`,
          { content: 'Edited.' },
          bearer(world.user.accessToken),
        ),
      () =>
        json(
          'POST',
          `/api/v1/accounts/${target.walletId}/deposits`,
          { amount: 100, currency: 'USD' },
          bearer(admin.accessToken),
        ),
    ];
    const answers = await burst((i) => requests[i]!(i));
    const violations: string[] = [];
    expect(violations, answers[0]?.status === 204, `the deletion answered ${answers[0]?.status}`);
    const deposited =
      answers.filter((a, i) => (i === 3 || i === 7) && a.status === 201).length * 100;
    const rows = await sql<{ balance: string }>`
      SELECT balance_minor::text AS balance FROM accounts WHERE id = ${target.walletId}`.execute(
      db(),
    );
    const balance = rows.rows[0] ? Number(rows.rows[0].balance) : 0;
    expect(
      violations,
      balance === deposited,
      `wallet holds ${balance}, the answers deposited ${deposited}`,
    );
    return { answers, violations };
  });

  scenario('deactivate a product while it is ordered', async () => {
    const productId = await world.freshProduct();
    const buyer = await freshUser();
    await fund(buyer.walletId, 100_000);
    const answers = await burst((i) =>
      i % 2
        ? json('DELETE', `/api/v1/products/${productId}`, undefined, bearer(admin.accessToken))
        : json(
            'POST',
            `/api/v1/users/${buyer.id}/orders`,
            { items: [{ productId, quantity: 1 }] },
            bearer(buyer.accessToken),
          ),
    );
    const violations: string[] = [];
    const orders = answers.filter((_, i) => i % 2 === 0);
    expect(
      violations,
      orders.every((a) => a.status === 201 || a.code === 'PRODUCT_UNAVAILABLE'),
      `orders answered ${tally(orders)}`,
    );
    const paid = orders
      .filter((a) => a.status === 201)
      .reduce((sum, a) => sum + Number(dataOf(a)?.total ?? 0), 0);
    const balance = await balanceOf(buyer.walletId);
    expect(
      violations,
      balance === 100_000 - paid,
      `balance ${balance}, the answers charged ${paid}`,
    );
    const after = await server().inject(
      json(
        'POST',
        `/api/v1/users/${buyer.id}/orders`,
        { items: [{ productId, quantity: 1 }] },
        bearer(buyer.accessToken),
      ),
    );
    const code = (JSON.parse(after.body) as { error?: { code?: string } }).error?.code;
    expect(
      violations,
      code === 'PRODUCT_UNAVAILABLE',
      `an order after the deactivation answered ${after.statusCode} ${code}`,
    );
    return { answers, violations };
  });

  scenario('suspend a user while they order and transfer', async () => {
    const buyer = await freshUser();
    const payee = await freshUser();
    await fund(buyer.walletId, 100_000);
    const answers = await burst((i) => {
      if (i === 0) {
        return json(
          'PATCH',
          `/api/v1/users/${buyer.id}`,
          { status: 'suspended' },
          bearer(admin.accessToken),
        );
      }
      return i % 2
        ? json(
            'POST',
            `/api/v1/users/${buyer.id}/orders`,
            { items: [{ productId: world.productId, quantity: 1 }] },
            bearer(buyer.accessToken),
          )
        : json(
            'POST',
            '/api/v1/transfers',
            {
              fromAccountId: buyer.walletId,
              toAccountId: payee.walletId,
              amount: 100,
              currency: 'USD',
            },
            { ...bearer(buyer.accessToken), 'idempotency-key': randomUUID() },
          );
    });
    const violations: string[] = [];
    expect(violations, answers[0]?.status === 200, `the suspension answered ${answers[0]?.status}`);
    const rest = answers.slice(1);
    expect(
      violations,
      rest.every((a) => a.status === 201 || a.status === 401 || a.status === 403),
      `the suspended user's requests answered ${tally(rest)} (201, 401 or 403 expected)`,
    );
    const spent = rest
      .filter((a) => a.status === 201)
      .reduce((sum, a) => sum + Number(dataOf(a)?.total ?? dataOf(a)?.amount ?? 0), 0);
    const balance = await balanceOf(buyer.walletId);
    expect(
      violations,
      balance === 100_000 - spent,
      `balance ${balance}, the answers moved ${spent}`,
    );
    // Once the suspension has answered, the user's token buys nothing more.
    const after = await server().inject(
      json(
        'POST',
        `/api/v1/users/${buyer.id}/orders`,
        { items: [{ productId: world.productId, quantity: 1 }] },
        bearer(buyer.accessToken),
      ),
    );
    expect(
      violations,
      after.statusCode === 401 || after.statusCode === 403,
      `an order after the suspension answered ${after.statusCode}`,
    );
    return { answers, violations };
  });

  scenario('delete a post while it is edited', async () => {
    const id = await world.freshPost(world.user);
    const answers = await burst((i) =>
      i === 0
        ? json('DELETE', `/api/v1/posts/${id}`, undefined, bearer(world.user.accessToken))
        : json(
            'PATCH',
            `/api/v1/posts/${id}`,
            { content: `Edit ${i}.` },
            bearer(world.user.accessToken),
          ),
    );
    const violations: string[] = [];
    expect(violations, answers[0]?.status === 204, `the deletion answered ${answers[0]?.status}`);
    const edits = answers.slice(1);
    expect(
      violations,
      edits.every((a) => a.status === 200 || a.status === 404),
      `edits answered ${tally(edits)}`,
    );
    const res = await server().inject(json('GET', `/api/v1/posts/${id}`));
    expect(
      violations,
      res.statusCode === 404,
      `the post answers ${res.statusCode} after its deletion`,
    );
    return { answers, violations };
  });

  scenario('two last admins demote and delete each other', async () => {
    // On the second app, with exactly two active admins: serially the first removal wins and
    // the other admin is then the last one (LAST_ADMIN) or no admin at all (403/404).
    const strictDb = strict.app.database.db;
    await sql`UPDATE users SET role = 'user' WHERE role = 'admin'`.execute(strictDb);
    const [a, b] = [
      await createUserAndLogin(strict.server, strict.app.services, 'admin'),
      await createUserAndLogin(strict.server, strict.app.services, 'admin'),
    ];
    const answers = await burst((i) => {
      const [actor, target] = i % 2 ? [b, a] : [a, b];
      return i % 4 < 2
        ? json('PATCH', `/api/v1/users/${target.id}`, { role: 'user' }, bearer(actor.accessToken))
        : json('DELETE', `/api/v1/users/${target.id}`, undefined, bearer(actor.accessToken));
    }, strict);
    const violations: string[] = [];
    const rows = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND status = 'active'`.execute(
      strictDb,
    );
    const left = rows.rows[0]?.n ?? 0;
    expect(violations, left === 1, `${left} active admins left, expected exactly one`);
    expect(
      violations,
      answers.every(
        (x) => x.status < 300 || x.code === 'LAST_ADMIN' || [401, 403, 404].includes(x.status),
      ),
      `answers ${tally(answers)}: a removal that lost must be LAST_ADMIN, 401, 403 or 404`,
    );
    return { answers, violations };
  });

  scenario('cancel order: N times', async () => {
    const buyer = await freshUser();
    await fund(buyer.walletId, 10_000);
    const order = await services().orders.placeOrder({ userId: buyer.id, role: 'user' }, buyer.id, {
      items: [{ productId: world.productId, quantity: 1 }],
    });
    const before = await balanceOf(buyer.walletId);
    const answers = await burst(() =>
      json('POST', `/api/v1/orders/${order.id}/cancel`, undefined, bearer(buyer.accessToken)),
    );
    const violations: string[] = [];
    expect(violations, count(answers, 200) === 1, `expected one 200, got ${count(answers, 200)}`);
    expect(
      violations,
      count(answers, 409, 'ORDER_ALREADY_CANCELLED') === N - 1,
      `expected ${N - 1}×409 ORDER_ALREADY_CANCELLED`,
    );
    const after = await balanceOf(buyer.walletId);
    expect(
      violations,
      after === before + PRODUCT.priceMinor,
      `refunded ${after - before}, expected ${PRODUCT.priceMinor}`,
    );
    return { answers, violations };
  });

  it('keeps the ledger balanced', async () => {
    await assertLedgerInvariants(db());
  });

  it('still logs in after the bursts', async () => {
    // No burst locked out an account it didn't touch (the login throttles count per account).
    await login(server(), world.user.email, world.user.password);
  });
});

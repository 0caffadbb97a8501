import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../../src/platform/redis/connect.js';
import { startApp, type StartedApp } from '../../support/app.js';
import { bearer, login } from '../../support/auth.js';
import { engines } from '../../support/databases.js';
import { openRedis, redisSkip } from '../../support/redis.js';

export type Role = 'guest' | 'user' | 'admin';
export const ROLES: readonly Role[] = ['guest', 'user', 'admin'];

export const postgres = engines.find((e) => e.name === 'postgres')!;
/** Why the suite can't run here (no PostgreSQL or no Redis), if it can't. */
export const worldSkip = postgres.skip ?? redisSkip;

/**
 * The app as production runs it, but with limits a test needs out of the way: the rate limit
 * and the login throttles far above what the suite sends. Unknown variables are ignored by
 * loadConfig, so limits a newer version reads can be listed here before it exists.
 */
export const HOSTILE_ENV: NodeJS.ProcessEnv = {
  NODE_ENV: 'test',
  RATE_LIMIT_MAX: '1000000',
  LOGIN_MAX_FAILURES: '1000',
  LOGIN_ACCOUNT_MAX_FAILURES: '1000',
  ACCOUNT_EMAIL_MAX_REQUESTS: '1000',
  ACCOUNT_EMAIL_ACCOUNT_MAX_REQUESTS: '1000',
  // The production body limit, so ~1 MB strings reach the JSON parser and the schema.
  BODY_LIMIT_BYTES: '1048576',
  // Slow enough that no flush or prune runs in the middle of a property.
  FLUSH_INTERVAL_MS: '600000',
};

export interface Person {
  id: string;
  email: string;
  password: string;
  role: 'user' | 'admin';
  accessToken: string;
  refreshToken: string;
  walletId: string;
}

const PASSWORD = 'correct horse battery';
const SYSTEM = { userId: 'system', role: 'admin' as const };
export const FUNDS = 1_000_000_000;

export const PRODUCT = {
  name: 'Kettle',
  description: 'Boils water.',
  priceMinor: 3500,
  currency: 'USD',
};

/** A unique address a generator may use for a resource that must not exist yet. */
export const freshEmail = () => `h-${randomUUID()}@example.com`;
/** Its own client address per request, so no per-address budget is shared by accident. */
export const someAddress = () => `10.${randomInt(1, 255)}.${randomInt(255)}.${randomInt(1, 255)}`;

/**
 * The seeded world the operations act on: an admin, two users with funded wallets, a spare
 * victim user for destructive calls, products, posts and a paid order. `repair()` puts back
 * what a hostile request took away (a logged-out token, a suspended or deleted user, a
 * deactivated product), so that every operation starts from the same footing.
 */
export class World {
  admin!: Person;
  user!: Person;
  other!: Person;
  victim!: Person;
  productId!: string;
  spareProductId!: string;
  userPostId!: string;
  otherPostId!: string;
  orderId!: string;
  transferId!: string;

  private constructor(
    readonly app: StartedApp,
    readonly redis: RedisClient,
  ) {}

  get server(): FastifyInstance {
    return this.app.server;
  }

  static async start(
    beforeReady?: (server: FastifyInstance) => void,
    env: NodeJS.ProcessEnv = {},
  ): Promise<World> {
    const redis = openRedis();
    let app: StartedApp;
    try {
      app = await startApp(postgres, { redis, env: { ...HOSTILE_ENV, ...env }, beforeReady });
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    const world = new World(app, redis);
    try {
      await world.seed();
    } catch (err) {
      await world.close();
      throw err;
    }
    return world;
  }

  async close() {
    await this.app.close();
    this.redis.disconnect();
  }

  private async person(role: 'user' | 'admin'): Promise<Person> {
    const email = freshEmail();
    const created = await this.app.services.users.createUser(SYSTEM, {
      name: `Hostile ${role}`,
      email,
      password: PASSWORD,
      role,
    });
    const tokens = await login(this.server, email, PASSWORD);
    const wallet = await this.app.services.accounts.walletOf(created.id);
    if (!wallet) throw new Error('a new user has a wallet');
    const depositor = role === 'admin' ? { userId: created.id, role } : this.adminActor();
    await this.app.services.accounts.deposit(depositor, wallet.id, {
      amount: FUNDS,
      currency: 'USD',
    });
    return { id: created.id, email, password: PASSWORD, role, ...tokens, walletId: wallet.id };
  }

  adminActor() {
    return this.admin ? { userId: this.admin.id, role: 'admin' as const } : SYSTEM;
  }

  actorOf(person: Person) {
    return { userId: person.id, role: person.role };
  }

  private async seed() {
    this.admin = await this.person('admin');
    this.user = await this.person('user');
    this.other = await this.person('user');
    this.victim = await this.person('user');
    const { products, posts } = this.app.services;
    this.productId = (await products.createProduct(this.adminActor(), PRODUCT)).id;
    this.spareProductId = (await products.createProduct(this.adminActor(), PRODUCT)).id;
    const post = { title: 'Hostile', content: 'A post to be read and edited.' };
    this.userPostId = (await posts.createPost(this.actorOf(this.user), post)).id;
    this.otherPostId = (await posts.createPost(this.actorOf(this.other), post)).id;
    this.orderId = await this.freshOrder(this.user);
    this.transferId = (
      await this.app.services.accounts.deposit(this.adminActor(), this.user.walletId, {
        amount: 100,
        currency: 'USD',
      })
    ).id;
  }

  /** A paid order of the person's, for a call that may cancel it. */
  async freshOrder(person: Person): Promise<string> {
    const order = await this.app.services.orders.placeOrder(this.actorOf(person), person.id, {
      items: [{ productId: this.productId, quantity: 1 }],
    });
    return order.id;
  }

  /** A post of the person's, for a call that may delete it. */
  async freshPost(person: Person): Promise<string> {
    const post = await this.app.services.posts.createPost(this.actorOf(person), {
      title: 'Disposable',
      content: 'A post a hostile call may delete.',
    });
    return post.id;
  }

  async freshProduct(): Promise<string> {
    return (await this.app.services.products.createProduct(this.adminActor(), PRODUCT)).id;
  }

  /** A refresh token of a fresh login of the victim (a refresh spends it). */
  async freshRefreshToken(): Promise<string> {
    await this.repairPerson('victim');
    return (await login(this.server, this.victim.email, this.victim.password)).refreshToken;
  }

  tokenOf(role: Role): string | undefined {
    if (role === 'guest') return undefined;
    return role === 'admin' ? this.admin.accessToken : this.user.accessToken;
  }

  personOf(role: Role): Person | undefined {
    if (role === 'guest') return undefined;
    return role === 'admin' ? this.admin : this.user;
  }

  /** Every id the world knows, for "an id of another resource" values. */
  knownIds(): string[] {
    return [
      this.admin.id,
      this.user.id,
      this.other.id,
      this.victim.id,
      this.admin.walletId,
      this.user.walletId,
      this.other.walletId,
      this.productId,
      this.userPostId,
      this.otherPostId,
      this.orderId,
      this.transferId,
    ];
  }

  /** Every seeded email, for "an email in another case" values. */
  knownEmails(): string[] {
    return [this.admin.email, this.user.email, this.other.email, this.victim.email];
  }

  private async works(person: Person): Promise<boolean> {
    const res = await this.server.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: bearer(person.accessToken),
    });
    if (res.statusCode !== 200) return false;
    const me = res.json<{ data: { id: string; role: string; status: string; email: string } }>();
    return (
      me.data.id === person.id &&
      me.data.role === person.role &&
      me.data.status === 'active' &&
      me.data.email === person.email
    );
  }

  /** Puts a person back: active, their role, their email and password, a valid token. */
  private async repairPerson(which: 'admin' | 'user' | 'other' | 'victim'): Promise<void> {
    const person = this[which];
    if (await this.works(person)) return;
    const { users } = this.app.services;
    try {
      await users.updateUser(SYSTEM, person.id, {
        role: person.role,
        status: 'active',
        email: person.email,
        password: person.password,
      });
    } catch {
      // Deleted (or its email taken over): a new person of the same role stands in.
      this[which] = await this.person(person.role);
      return;
    }
    const tokens = await login(this.server, person.email, person.password);
    Object.assign(person, tokens);
    if (!(await this.works(person))) {
      this[which] = await this.person(person.role);
    }
  }

  /** Restores what the operations rely on; cheap when nothing was touched. */
  async repair(): Promise<void> {
    for (const which of ['admin', 'user', 'other', 'victim'] as const) {
      await this.repairPerson(which);
    }
    const { products } = this.app.services;
    for (const id of [this.productId]) {
      try {
        const product = await products.getProduct(this.adminActor(), id);
        if (!product.active || product.priceMinor !== PRODUCT.priceMinor) {
          await products.updateProduct(this.adminActor(), id, { ...PRODUCT, active: true });
        }
      } catch {
        this.productId = await this.freshProduct();
      }
    }
    const { posts } = this.app.services;
    for (const [key, person] of [
      ['userPostId', this.user],
      ['otherPostId', this.other],
    ] as const) {
      try {
        await posts.getPost(SYSTEM, this[key]);
      } catch {
        this[key] = await this.freshPost(person);
      }
    }
  }
}

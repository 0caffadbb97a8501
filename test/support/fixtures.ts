import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../src/composition/services.js';
import type { Product } from '../../src/modules/products/products.repository.js';
import type { UserRole } from '../../src/platform/db/schema.js';
import { createUserAndLogin, type TestUser } from './auth.js';
import { deposit, walletOf, type AccountBody } from './ledger.js';

/** What the fixtures need of a started app (`StartedApp` from ./app.js has both). */
export interface FixtureHost {
  server: FastifyInstance;
  services: Services;
}

export interface Fixtures {
  /** The admin behind the fixtures (deposits, products), created on first use and kept. */
  admin(): Promise<TestUser>;
  /** A new user with the role (default `user`), signed in over HTTP: its tokens are ready. */
  user(options?: { role?: UserRole }): Promise<TestUser>;
  /** The user's wallet after the admin deposited `amount` into it (nothing when 0). */
  fundedWallet(user: TestUser, amount: number): Promise<AccountBody>;
  /** A product in the catalogue, created through the service by the admin. */
  product(options?: {
    priceMinor?: number;
    name?: string;
    currency?: string;
    active?: boolean;
  }): Promise<Product>;
}

/**
 * Test data through the app's own doors, one line per thing a test needs:
 *
 *   const make = fixtures(app);
 *   const user = await make.user();
 *   const wallet = await make.fundedWallet(user, 10_000);
 *   const kettle = await make.product({ priceMinor: 3_500 });
 *
 * Users are created through the service and signed in over HTTP, deposits go through the API as
 * the admin, products through the service; so each fixture goes through the same rules as a client.
 */
export function fixtures(app: FixtureHost): Fixtures {
  let admin: Promise<TestUser> | undefined;
  const fixtures: Fixtures = {
    admin: () => (admin ??= createUserAndLogin(app.server, app.services, 'admin')),
    user: ({ role = 'user' } = {}) => createUserAndLogin(app.server, app.services, role),
    async fundedWallet(user, amount) {
      const wallet = await walletOf(app.server, user);
      if (amount === 0) return wallet;
      await deposit(app.server, await fixtures.admin(), wallet.id, amount);
      return walletOf(app.server, user);
    },
    async product({ priceMinor = 1_000, name, currency = 'USD', active } = {}) {
      const { id } = await fixtures.admin();
      return app.services.products.createProduct(
        { userId: id, role: 'admin' },
        {
          name: name ?? `Product ${randomUUID().slice(0, 8)}`,
          description: '',
          priceMinor,
          currency,
          ...(active === undefined ? {} : { active }),
        },
      );
    },
  };
  return fixtures;
}

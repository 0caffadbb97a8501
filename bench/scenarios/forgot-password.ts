import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { waitForOutbox } from '../lib/outbox.js';
import type { Scenario } from './scenario.js';

/** Seeded addresses the known-address run cycles through. */
const KNOWN = 10_000;

/**
 * POST /api/v1/auth/forgot-password for addresses an account uses and for addresses none uses,
 * as two rows side by side: the answer must not tell them apart, so neither should the time it
 * takes (each does one lookup and writes one outbox row; the emails go out in process). The
 * server runs with budgets the load generator, one client address, cannot exhaust
 * (ACCOUNT_EMAIL_* in bench/lib/servers.ts). Reported, not compared.
 */
function forgotPassword(name: string, known: boolean): Scenario {
  return {
    name,
    description: `POST /api/v1/auth/forgot-password, ${known ? 'addresses of seeded accounts' : 'addresses no account uses'}; compare with the other forgot-password row`,
    ratioTarget: null,
    baseline: null,
    async prepare({ db }) {
      const emails = known
        ? (
            await sql<{ email: string }>`
              select email from users where status = 'active' order by random() limit ${KNOWN}`.execute(
              db,
            )
          ).rows.map((r) => r.email)
        : [];
      if (known && emails.length === 0) throw new Error('the users table is empty');
      let next = 0;
      const bodyFor = () =>
        JSON.stringify({
          email: known
            ? emails[next++ % emails.length]
            : `bench-nobody-${randomUUID()}@example.com`,
        });
      return {
        samplePath: '/health/ready',
        requests: [
          {
            method: 'POST',
            path: '/api/v1/auth/forgot-password',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: bodyFor() }),
          },
        ],
      };
    },
    async settle({ db }) {
      const { backlog, seconds } = await waitForOutbox(db);
      return `${backlog} reset emails were pending when the load stopped, sent ${seconds.toFixed(1)} s later`;
    },
  };
}

export const forgotPasswordKnown = forgotPassword('forgot-password-known', true);
export const forgotPasswordUnknown = forgotPassword('forgot-password-unknown', false);

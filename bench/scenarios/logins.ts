import { BENCH_PASSWORD, createBenchUser } from './bench-users.js';
import type { Scenario } from './scenario.js';

const USERS = 20;

/**
 * POST /api/v1/auth/login with the right password: one argon2id verification (19 MiB, t=2)
 * plus a refresh-token insert per login. Reported in logins/s, not compared: the hash cost is
 * the point, and it is not tuned down for the benchmark.
 */
export const logins: Scenario = {
  name: 'logins',
  description: 'POST /api/v1/auth/login, argon2id-bound; logins/s reported, no baseline',
  ratioTarget: null,
  baseline: null,
  async prepare({ db }) {
    // Several accounts, so the per-email login throttle never sees one hot key.
    const users = await Promise.all(
      Array.from({ length: USERS }, () => createBenchUser(db, 'user')),
    );
    const bodyFor = (i: number) =>
      JSON.stringify({ email: users[i % USERS]!.email, password: BENCH_PASSWORD });
    let next = 0;
    return {
      samplePath: '/health/ready',
      requests: [
        {
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: bodyFor(next++) }),
        },
      ],
    };
  },
};

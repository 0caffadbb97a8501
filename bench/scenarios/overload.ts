import { accessTokenFor, createBenchUser } from './bench-users.js';
import { seedPosts } from './graphql-users-posts.js';
import type { Scenario } from './scenario.js';

const QUERY = '{ users(limit: 20) { posts { title } } }';

/** The p99 (ms) that defines capacity: the highest rate whose p99 stays under it. */
export const OVERLOAD_BOUND_MS = Number(process.env.BENCH_OVERLOAD_BOUND_MS ?? 50);

/**
 * Graceful overload: the GraphQL users-and-posts query (a normal route whose work is much
 * larger than a refusal) at capacity, then at three times capacity against a Stratum whose
 * load shedder admits 16 normal requests in flight. Reported, not compared with a baseline:
 * admitted throughput against capacity, admitted p99 against the p99 at capacity, the share
 * refused with 503, admitted failures, and /health/live's answers during the overload.
 */
export const overload: Scenario = {
  name: 'overload',
  description: `POST /graphql ${QUERY} at capacity (p99 ≤ ${OVERLOAD_BOUND_MS} ms), then at 3× capacity`,
  ratioTarget: 0.9,
  baseline: null,
  overload: { boundMs: OVERLOAD_BOUND_MS },
  stratumEnv: { LOAD_SHED_MAX_IN_FLIGHT: '16' },
  async prepare({ db, jwtSecret }) {
    const admin = await createBenchUser(db, 'admin');
    await seedPosts(db);
    const headers = {
      authorization: `Bearer ${await accessTokenFor(admin, jwtSecret)}`,
      'content-type': 'application/json',
    };
    return {
      samplePath: '/health/ready',
      requests: [
        { method: 'POST', path: '/graphql', headers, body: JSON.stringify({ query: QUERY }) },
      ],
    };
  },
};

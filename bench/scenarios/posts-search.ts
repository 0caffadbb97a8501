import { sql } from 'kysely';
import { seedAuthors, seedPosts } from '../../src/cli/seed-posts.js';
import { commonTopicWords } from '../../src/cli/seed-words.js';
import type { Database } from '../../src/platform/db/database.js';
import type { Scenario } from './scenario.js';

/** Posts the search runs over; seeded up to this many (the seed's texts) when fewer exist. */
const BENCH_POSTS = Number(process.env.BENCH_POSTS ?? 1_000_000);
/**
 * The load the latency target is measured at, whatever BENCH_CONNECTIONS says: at 50 connections
 * on two cores a search's latency is mostly its wait for a core, not its own work.
 */
const SEARCH_CONNECTIONS = Number(process.env.BENCH_SEARCH_CONNECTIONS ?? 4);

async function ensurePosts(db: Database): Promise<void> {
  const { n } = await db
    .selectFrom('posts')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  if (n >= BENCH_POSTS) return;
  const started = performance.now();
  process.stderr.write(`bench: seeding ${BENCH_POSTS - n} posts (takes minutes for 1,000,000)\n`);
  await seedPosts(db, await seedAuthors(db), BENCH_POSTS - n, { seed: n + 1 });
  // What autovacuum would do soon after a bulk load: the searches then measure the table as a
  // running service has it (visibility map set, statistics current), not one just loaded.
  await sql`vacuum analyze posts`.execute(db);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  process.stderr.write(`bench: seeded in ${seconds} s\n`);
}

/** Every pair of two different common words, as a search box would send them. */
function wordPairs(): string[] {
  const words = commonTopicWords();
  return words.flatMap((a, i) => words.slice(i + 1).map((b) => `${a} ${b}`));
}

/**
 * GET /api/v1/posts?q=<two common words> as a guest, at SEARCH_CONNECTIONS concurrent
 * connections. Most pairs are words of two topics that no post shares (the GIN index finds few
 * or no matches); a tenth are words of one topic that match 2–12% of the posts (the newest
 * posts are walked). Each search ranks its SEARCH_RANK_LIMIT newest matches with ts_rank_cd and
 * returns a page of 20. A latency target (p95 < 25 ms), not a ratio: no baseline.
 */
export const postsSearch: Scenario = {
  name: 'posts-search',
  description: `GET /api/v1/posts?q=<a random pair of common words> as a guest over BENCH_POSTS (${BENCH_POSTS.toLocaleString('en-US')}) seeded posts, at ${SEARCH_CONNECTIONS} connections (BENCH_SEARCH_CONNECTIONS); target p95 < 25 ms`,
  ratioTarget: null,
  baseline: null,
  p95TargetMs: 25,
  connections: SEARCH_CONNECTIONS,
  async prepare({ db }) {
    await ensurePosts(db);
    const pairs = wordPairs();
    const pathOf = (q: string) => `/api/v1/posts?q=${encodeURIComponent(q)}`;
    return {
      samplePath: pathOf(pairs[0]!),
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => ({
            ...request,
            path: pathOf(pairs[Math.floor(Math.random() * pairs.length)]!),
          }),
        },
      ],
    };
  },
};

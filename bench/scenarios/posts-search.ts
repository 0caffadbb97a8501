import { sql } from 'kysely';
import { seedAuthors, seedPosts } from '../../src/cli/seed-posts.js';
import { commonTopicWords } from '../../src/cli/seed-words.js';
import type { Database } from '../../src/platform/db/database.js';
import type { Scenario } from './scenario.js';

/** Posts the search runs over; seeded up to this many (the seed's texts) when fewer exist. */
const BENCH_POSTS = Number(process.env.BENCH_POSTS ?? 1_000_000);

async function ensurePosts(db: Database): Promise<void> {
  const { n } = await db
    .selectFrom('posts')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  if (n >= BENCH_POSTS) return;
  const started = performance.now();
  process.stderr.write(`bench: seeding ${BENCH_POSTS - n} posts (takes minutes for 1,000,000)\n`);
  await seedPosts(db, await seedAuthors(db), BENCH_POSTS - n, { seed: n + 1 });
  await sql`analyze posts`.execute(db);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  process.stderr.write(`bench: seeded in ${seconds} s\n`);
}

/** Every pair of two different common words, as a search box would send them. */
function wordPairs(): string[] {
  const words = commonTopicWords();
  return words.flatMap((a, i) => words.slice(i + 1).map((b) => `${a} ${b}`));
}

/**
 * GET /api/v1/posts?q=<two common words> as a guest: websearch_to_tsquery over the stored
 * tsvector through its GIN index, every match ranked with ts_rank_cd (title above content) and
 * counted, one page of 20 returned. A latency target (p95 < 25 ms), not a ratio: no baseline.
 */
export const postsSearch: Scenario = {
  name: 'posts-search',
  description: `GET /api/v1/posts?q=<a random pair of common words> as a guest over BENCH_POSTS (${BENCH_POSTS.toLocaleString('en-US')}) seeded posts; target p95 < 25 ms (read p97.5/p99)`,
  ratioTarget: null,
  baseline: null,
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

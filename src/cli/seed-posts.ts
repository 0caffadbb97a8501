import crypto from 'node:crypto';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../platform/db/database.js';
import { FUNCTION_WORDS, GENERAL_WORDS, TOPICS } from './seed-words.js';
import { insertInBatches, SEED_BATCH_SIZE, type BulkSeedOptions } from './seed-users.js';

/** Fake posts for development and the search benchmark; `npm run db:seed -- --posts N`. */

export interface SeedPost {
  id: string;
  authorId: string;
  title: string;
  content: string;
  createdAt: Date;
}

const DAY_MS = 86_400_000;

/** mulberry32: a tiny seeded generator, so the same seed writes the same texts. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Writes English-looking posts: each about one topic, with general and function words mixed in. */
export class PostWriter {
  constructor(private readonly random: () => number) {}

  /** Earlier words more often: squaring the draw skews it towards the head of the list. */
  private pick(words: readonly string[]): string {
    const u = this.random();
    return words[Math.floor(u * u * words.length)]!;
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  private words(topic: readonly string[], count: number, functionShare: number): string[] {
    return Array.from({ length: count }, () => {
      const roll = this.random();
      if (roll < functionShare) return this.pick(FUNCTION_WORDS);
      return roll < functionShare + 0.35 ? this.pick(GENERAL_WORDS) : this.pick(topic);
    });
  }

  private sentence(topic: readonly string[]): string {
    const text = this.words(topic, this.int(6, 14), 0.3).join(' ');
    return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
  }

  write(): { title: string; content: string } {
    const topic = TOPICS[Math.floor(this.random() * TOPICS.length)]!;
    const title = this.words(topic, this.int(3, 7), 0.15).join(' ');
    const sentences = Array.from({ length: this.int(3, 6) }, () => this.sentence(topic));
    return { title: `${title[0]!.toUpperCase()}${title.slice(1)}`, content: sentences.join(' ') };
  }
}

/** Inserts the posts in one statement: an array parameter per column, spread by unnest. */
export async function insertPosts(db: Database, posts: readonly SeedPost[]): Promise<number> {
  if (posts.length === 0) return 0;
  const result = await sql`
    insert into posts (id, author_id, title, content, created_at, updated_at)
    select id, author_id, title, content, created_at, created_at
    from unnest(
      ${posts.map((p) => p.id)}::uuid[],
      ${posts.map((p) => p.authorId)}::uuid[],
      ${posts.map((p) => p.title)}::text[],
      ${posts.map((p) => p.content)}::text[],
      ${posts.map((p) => p.createdAt.toISOString())}::timestamptz[]
    ) as t(id, author_id, title, content, created_at)`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** Who writes the seeded posts: up to this many existing users. */
const MAX_AUTHORS = 100_000;

export async function seedAuthors(db: Database): Promise<string[]> {
  const rows = await db.selectFrom('users').select('id').orderBy('id').limit(MAX_AUTHORS).execute();
  return rows.map((r) => r.id);
}

export interface PostSeedOptions extends BulkSeedOptions {
  /** The texts and authors follow from it; ids and dates follow the clock. */
  seed?: number;
}

/**
 * Inserts count posts by the given authors, oldest first so their UUIDv7 ids arrive in index
 * order, spread over spanDays up to now. Returns how many rows were inserted.
 */
export async function seedPosts(
  db: Database,
  authorIds: readonly string[],
  count: number,
  { batchSize = SEED_BATCH_SIZE, spanDays = 3 * 365, seed = 1, onProgress }: PostSeedOptions = {},
): Promise<number> {
  if (authorIds.length === 0) throw new Error('seeding posts needs at least one user');
  const random = seededRandom(seed);
  const writer = new PostWriter(random);
  const to = Date.now();
  const step = (spanDays * DAY_MS) / count;
  const build = (done: number, size: number) => {
    const bytes = crypto.randomBytes(16 * size);
    return Array.from({ length: size }, (_, i): SeedPost => {
      const msecs = Math.floor(to - (count - done - i) * step);
      return {
        id: uuidv7({ msecs, random: bytes.subarray(16 * i, 16 * i + 16) }),
        authorId: authorIds[Math.floor(random() * authorIds.length)]!,
        ...writer.write(),
        createdAt: new Date(msecs),
      };
    });
  };
  return insertInBatches(count, batchSize, build, (posts) => insertPosts(db, posts), onProgress);
}

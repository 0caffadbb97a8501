import crypto from 'node:crypto';
import pg from 'pg';
import { TEST_DATABASE_URL } from './databases.js';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** An empty database on the test server (no migrations applied), for tests that migrate it. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `stratum_p_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

import fs from 'node:fs/promises';
import path from 'node:path';
import { MIGRATION_FILE, migrationsDir } from './migrate.js';

/** A name `npm run db:new` refuses; its message says why. */
export class MigrationNameError extends Error {
  override readonly name = 'MigrationNameError';
}

const NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const MAX_NAME = 60;

/**
 * Creates `NNNN_<name>.sql` in dir with the next number and a header, and returns its path.
 * The name is lower-case words joined by underscores, and not one an existing migration has.
 */
export async function createMigration(name: string, dir = migrationsDir): Promise<string> {
  if (!NAME.test(name) || name.length > MAX_NAME) {
    throw new MigrationNameError(
      `"${name}" is not a migration name: lower-case letters and digits in words joined by ` +
        `underscores, starting with a letter, at most ${MAX_NAME} characters ` +
        `(for example orders_add_note)`,
    );
  }
  const existing = (await fs.readdir(dir))
    .map((file) => MIGRATION_FILE.exec(file))
    .filter((match) => match !== null);
  const taken = existing.find((match) => match[2] === name);
  if (taken) {
    throw new MigrationNameError(
      `a migration named ${name} exists (${taken[0]}): name this one after what it changes`,
    );
  }
  const last = Math.max(0, ...existing.map((match) => Number(match[1])));
  const width = Math.max(4, ...existing.map((match) => match[1]!.length));
  const file = path.join(dir, `${String(last + 1).padStart(width, '0')}_${name}.sql`);
  // wx: two runs at once (or a file that appeared meanwhile) never overwrite one another.
  await fs.writeFile(file, header(), { flag: 'wx' });
  return file;
}

function header(): string {
  return [
    '-- What this migration changes, and why.',
    '--',
    '-- (Delete this paragraph.) It runs once, in its own transaction, in number order. Once',
    '-- released it is never edited: its checksum is recorded, and an edited migration stops',
    '-- `npm run db:migrate` and start-up; change things with a new migration. Keep it additive',
    '-- (new tables, nullable columns, indexes): processes of the previous release keep running',
    '-- on the migrated database until they are replaced.',
    '',
    '',
  ].join('\n');
}

import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMigration, MigrationNameError } from '../platform/db/new-migration.js';

/** `npm run db:new -- <name>`: creates migrations/NNNN_<name>.sql with the next number. */
function nameArgument(): string {
  try {
    const { positionals } = parseArgs({ allowPositionals: true });
    if (positionals.length !== 1) throw new Error('usage: npm run db:new -- <name>');
    return positionals[0]!;
  } catch (err) {
    process.stderr.write(`db:new: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

try {
  const file = await createMigration(nameArgument());
  process.stdout.write(`created ${path.relative(process.cwd(), file)}\n`);
} catch (err) {
  if (!(err instanceof MigrationNameError)) throw err;
  process.stderr.write(`db:new: ${err.message}\n`);
  process.exitCode = 2;
}

import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Loads `.env` from the working directory into `process.env`, when the file exists. A variable
 * already set in the environment keeps its value (process.loadEnvFile never overwrites one, even
 * an empty one), so a deployment's real environment always wins over a developer's file. Call it
 * before the config is read: entry points call it first, as config.ts reads `process.env` once.
 */
export function loadDotEnv(file: string = path.resolve('.env')): void {
  if (!existsSync(file)) return;
  // Node added loadEnvFile in 20.12: an older one says so rather than ignore the file unseen.
  if (typeof process.loadEnvFile !== 'function') {
    process.stderr.write(`${file} was not read: loading it needs Node.js 20.12 or later\n`);
    return;
  }
  process.loadEnvFile(file);
}

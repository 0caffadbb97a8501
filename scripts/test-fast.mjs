// `npm run test:fast`: the unit suites and those on the embedded engine (PGlite), no PostgreSQL,
// Redis, spawned process or browser. Selection by file, without moving any: every test file
// except those under test/faults, test/hostile and test/browser, those whose source (or a
// ./support module it imports) spawns a process, and those that start the whole API. TEST_SERVICES=none skips, without probing, the
// suites that need PostgreSQL or Redis in the files that remain (the PostgreSQL half of the
// engine matrix, the Redis cache setups). Extra arguments go to `node --test`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const root = path.resolve(import.meta.dirname, '..');
const SLOW_DIRS = ['test/faults/', 'test/hostile/', 'test/browser/'];
const SPAWNS = /node:child_process|startService|worker-process|playwright/;
// A suite that starts the whole API (the HTTP and GraphQL suites) costs seconds per engine.
const STARTS_THE_APP = /\bstartApp\b|helpers\/setups\.js/;

function spawnsProcesses(file, seen = new Set()) {
  if (seen.has(file) || !fs.existsSync(file)) return false;
  seen.add(file);
  const source = fs.readFileSync(file, 'utf8');
  if (SPAWNS.test(source)) return true;
  // Local support modules only: the shared helpers under test/helpers are opt-in per suite.
  for (const [, spec] of source.matchAll(/from '(\.\/[^']+)\.js'/g)) {
    if (spawnsProcesses(path.resolve(path.dirname(file), `${spec}.ts`), seen)) return true;
  }
  return false;
}

const files = fs
  .readdirSync(path.join(root, 'test'), { recursive: true })
  .map((f) => path.join('test', f).split(path.sep).join('/'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => !SLOW_DIRS.some((dir) => f.startsWith(dir)))
  .filter((f) => !spawnsProcesses(path.join(root, f)))
  .filter((f) => !STARTS_THE_APP.test(fs.readFileSync(path.join(root, f), 'utf8')))
  .sort();

if (process.argv.includes('--list')) {
  process.stdout.write(`${files.join('\n')}\n`);
  process.exit(0);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...process.argv.slice(2), ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TEST_SERVICES: 'none' } },
);
process.exit(result.status ?? 1);

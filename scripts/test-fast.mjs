// `npm run test:fast`: the suites that need no server, spawned process or browser: every file
// under test/units, test/services and test/docs (see docs/testing.md for the tiers), with
// TEST_SERVICES=none so that the suites needing PostgreSQL or Redis (the PostgreSQL half of the
// engine matrix, the Redis cache setups) skip without probing; what remains runs on the embedded
// engine (PGlite). A file in those folders that spawns a process or starts the whole API is in the
// wrong tier: the script says so and fails. Extra arguments go to `node --test`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const root = path.resolve(import.meta.dirname, '..');
const FAST_DIRS = ['test/units', 'test/services', 'test/docs'];
// The tier rule: these belong under test/processes (spawns) and test/http (starts the app).
const SPAWNS = /node:child_process|startService|worker-process|service-process|playwright/;
const STARTS_THE_APP = /\bstartApp\b|\bstartTwoApps\b|support\/setups\.js/;

const files = FAST_DIRS.flatMap((dir) =>
  fs
    .readdirSync(path.join(root, dir), { recursive: true })
    .map((f) => path.join(dir, f).split(path.sep).join('/'))
    .filter((f) => f.endsWith('.test.ts')),
).sort();

const misplaced = files.filter((f) => {
  const source = fs.readFileSync(path.join(root, f), 'utf8');
  return SPAWNS.test(source) || STARTS_THE_APP.test(source);
});
if (misplaced.length > 0) {
  process.stderr.write(
    `These files spawn a process or start the API; move them to test/processes or test/http:\n${misplaced.join('\n')}\n`,
  );
  process.exit(1);
}

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

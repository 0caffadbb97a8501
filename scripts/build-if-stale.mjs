// Runs `tsc -p tsconfig.build.json` only when dist/ may be out of date, so `npm start` and the
// other scripts that need dist/ skip the 2–4 s compile when nothing changed. Plain Node with no
// dependencies, so it works wherever `node dist/main.js` does.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

/** Inputs outside src/ that change what tsc emits (compiler options) or what it compiles against. */
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
const STAMP = path.join('dist', '.build-stamp');
const OUTPUT = path.join('dist', 'main.js');
// tsBuildInfoFile of tsconfig.build.json.
const BUILD_INFO = path.join('dist', '.tsbuildinfo');

function walk(dir, found) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, found);
    else if (entry.isFile() && entry.name.endsWith('.ts')) found.push(full);
  }
}

/** Every build input under `root`, as `{ path, mtimeMs }` with `path` relative and `/`-separated. */
export function collectSources(root) {
  const files = [];
  walk(path.join(root, 'src'), files);
  for (const name of CONFIG_FILES) {
    if (existsSync(path.join(root, name))) files.push(path.join(root, name));
  }
  return files.map((file) => ({
    path: path.relative(root, file).split(path.sep).join('/'),
    mtimeMs: statSync(file).mtimeMs,
  }));
}

/**
 * What a stamp records about a set of sources. The hash covers each path with its mtime, so an
 * added, deleted or renamed file counts as a change, and so does a file whose mtime went back
 * (a copy that preserves timestamps), which comparing the newest mtime alone would miss.
 */
export function fingerprint(sources) {
  const sorted = [...sources].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const source of sorted) hash.update(`${source.path}\0${source.mtimeMs}\n`);
  return {
    newestMtimeMs: Math.max(0, ...sorted.map((source) => source.mtimeMs)),
    count: sorted.length,
    sourcesHash: hash.digest('hex'),
  };
}

/**
 * Whether a build is needed: no stamp (never built, or the last build failed), no output, a
 * source newer than the newest one the stamp was built from, or a different set of sources.
 */
export function isStale(stamp, sources, outputExists = true) {
  if (!stamp || !outputExists) return true;
  const current = fingerprint(sources);
  return current.newestMtimeMs > stamp.newestMtimeMs || current.sourcesHash !== stamp.sourcesHash;
}

export function readStamp(root) {
  try {
    const stamp = JSON.parse(readFileSync(path.join(root, STAMP), 'utf8'));
    const valid =
      typeof stamp?.newestMtimeMs === 'number' && typeof stamp?.sourcesHash === 'string';
    return valid ? stamp : undefined;
  } catch {
    // Missing or unreadable: treated as never built.
    return undefined;
  }
}

/** Builds `root` when stale; returns tsc's exit code, or 0 when nothing had to be done. */
export function buildIfStale(root, compile = defaultCompile) {
  // Sources are listed before compiling: a file saved during the build is newer than the
  // stamp's record and triggers the next build.
  const sources = collectSources(root);
  const stamp = readStamp(root);
  const outputExists = existsSync(path.join(root, OUTPUT));
  if (!isStale(stamp, sources, outputExists)) return 0;
  // An incremental build trusts its build info and does not emit again an output someone
  // deleted; without a stamp or output, nothing in dist/ is trusted and everything is emitted.
  if (!stamp || !outputExists) rmSync(path.join(root, BUILD_INFO), { force: true });
  const status = compile(root);
  if (status !== 0) return status;
  const stampFile = path.join(root, STAMP);
  // Written whole and renamed, so an interrupted write never leaves a stamp that parses.
  writeFileSync(`${stampFile}.tmp`, `${JSON.stringify(fingerprint(sources))}\n`);
  renameSync(`${stampFile}.tmp`, stampFile);
  return 0;
}

function defaultCompile(root) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.error) {
    process.stderr.write(`build-if-stale: could not run tsc: ${result.error.message}\n`);
    return 1;
  }
  return result.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = buildIfStale(fileURLToPath(new URL('..', import.meta.url)));
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';

interface Source {
  path: string;
  mtimeMs: number;
}
interface Stamp {
  newestMtimeMs: number;
  count: number;
  sourcesHash: string;
}
interface BuildIfStale {
  collectSources(root: string): Source[];
  fingerprint(sources: Source[]): Stamp;
  isStale(stamp: Stamp | undefined, sources: Source[], outputExists?: boolean): boolean;
  buildIfStale(root: string, compile: (root: string) => number): number;
}

// A plain .mjs without type declarations: the specifier is a variable so it is imported untyped.
const scriptUrl = new URL('../../scripts/build-if-stale.mjs', import.meta.url).href;
const script = (await import(scriptUrl)) as BuildIfStale;

const sources: Source[] = [
  { path: 'src/a.ts', mtimeMs: 1000 },
  { path: 'src/b.ts', mtimeMs: 2000 },
  { path: 'tsconfig.json', mtimeMs: 500 },
];

describe('isStale', () => {
  const stamp = script.fingerprint(sources);

  it('when nothing changed, then no build is needed', () => {
    assert.equal(script.isStale(stamp, [...sources].reverse()), false);
  });

  it('when there is no stamp or no output, then a build is needed', () => {
    assert.equal(script.isStale(undefined, sources), true);
    assert.equal(script.isStale(stamp, sources, false), true);
  });

  it('when a source is newer than the newest one built from, then a build is needed', () => {
    assert.equal(
      script.isStale(stamp, [{ ...sources[0]!, mtimeMs: 3000 }, ...sources.slice(1)]),
      true,
    );
  });

  it('when a source is deleted, then a build is needed though no mtime is newer', () => {
    assert.equal(script.isStale(stamp, sources.slice(0, 2)), true);
  });

  it('when an older file is added or one is replaced by an older copy, then a build is needed', () => {
    assert.equal(script.isStale(stamp, [...sources, { path: 'src/c.ts', mtimeMs: 10 }]), true);
    assert.equal(
      script.isStale(stamp, [{ ...sources[0]!, mtimeMs: 900 }, ...sources.slice(1)]),
      true,
    );
  });
});

describe('buildIfStale', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-if-stale-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  let compiles = 0;
  let status = 0;
  // Stands in for tsc: emits dist/main.js and build info like an incremental build.
  const compile = (dir: string) => {
    compiles += 1;
    if (status !== 0) return status;
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'main.js'), '');
    fs.writeFileSync(path.join(dir, 'dist', '.tsbuildinfo'), '{}');
    return 0;
  };
  const build = () => {
    const before = compiles;
    assert.equal(script.buildIfStale(root, compile), status);
    return compiles > before;
  };
  const touch = (file: string, secondsAhead: number) => {
    const time = new Date(Date.now() + secondsAhead * 1000);
    fs.utimesSync(path.join(root, file), time, time);
  };

  beforeEach(() => {
    status = 0;
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(path.join(root, 'src', 'cli'), { recursive: true });
    for (const file of ['src/main.ts', 'src/cli/seed.ts', 'tsconfig.json', 'tsconfig.build.json']) {
      fs.writeFileSync(path.join(root, file), '');
    }
  });

  it('lists sources under src/ recursively, only .ts, plus the tsconfigs', () => {
    fs.writeFileSync(path.join(root, 'src', 'notes.md'), '');
    const listed = script.collectSources(root).map((source) => source.path);
    assert.deepEqual(listed.sort(), [
      'src/cli/seed.ts',
      'src/main.ts',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
  });

  it('builds the first time, then not again until a source changes', () => {
    assert.equal(build(), true);
    assert.equal(build(), false);
    touch('src/cli/seed.ts', 10);
    assert.equal(build(), true);
    assert.equal(build(), false);
    touch('tsconfig.build.json', 20);
    assert.equal(build(), true);
  });

  it('when a source is deleted or added, then it builds', () => {
    build();
    fs.rmSync(path.join(root, 'src', 'cli', 'seed.ts'));
    assert.equal(build(), true);
    fs.writeFileSync(path.join(root, 'src', 'new.ts'), '');
    touch('src/new.ts', -3600);
    assert.equal(build(), true);
    assert.equal(build(), false);
  });

  it('when dist/main.js is gone, then it builds from scratch, dropping the build info', () => {
    build();
    fs.rmSync(path.join(root, 'dist', 'main.js'));
    let buildInfoAtCompile: boolean | undefined;
    const compiled = script.buildIfStale(root, (dir) => {
      buildInfoAtCompile = fs.existsSync(path.join(dir, 'dist', '.tsbuildinfo'));
      return compile(dir);
    });
    assert.equal(compiled, 0);
    assert.equal(buildInfoAtCompile, false);
  });

  it('when the build fails, then its exit code is returned and the next run builds again', () => {
    build();
    touch('src/main.ts', 10);
    status = 2;
    assert.equal(build(), true);
    assert.equal(build(), true);
    status = 0;
    assert.equal(build(), true);
    assert.equal(build(), false);
  });
});

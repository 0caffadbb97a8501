import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  configReadCalls,
  configVariables,
  errorCodes,
  npmScripts,
} from '../support/source-facts.js';
import { documentationFiles, npmRunNames, prose, read, relativeLinks, ROOT } from './markdown.js';

/**
 * The documentation keeps up with the code: every setting, error code and npm script is in its
 * reference page (and the pages name nothing that is gone), every link and `npm run` works, the
 * README stays short, and the pages describe the service, not how it came to be.
 */

const README_MAX_BYTES = 10_240;

/** Backticked names in the first column of a page's tables: `| \`NAME\` | …`. */
function tableNames(markdown: string): string[] {
  return [...markdown.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]!);
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

describe('docs/reference/configuration.md', () => {
  const page = read('docs/reference/configuration.md');
  // The last section lists what tests and tools read: not the service's settings.
  const [service = '', tools = ''] = page.split(/^## Read by the tests and tools.*$/m);
  const documented = tableNames(service);

  it('reads the variable list of src/config.ts completely', () => {
    assert.equal(configVariables().length, configReadCalls());
  });

  it('documents every variable src/config.ts reads, and only those', () => {
    const variables = configVariables();
    assert.deepEqual(
      {
        undocumented: sorted(variables.filter((v) => !documented.includes(v))),
        notRead: sorted(documented.filter((v) => !variables.includes(v))),
      },
      { undocumented: [], notRead: [] },
    );
  });

  it('documents each variable once', () => {
    assert.deepEqual(
      documented.filter((v, i) => documented.indexOf(v) !== i),
      [],
    );
    assert.ok(tools.length > 0, 'the page has its section of test and tool variables');
  });
});

describe('docs/reference/errors.md', () => {
  const documented = tableNames(read('docs/reference/errors.md'));
  const codes = errorCodes();

  it('finds the codes of the error classes and of the HTTP and GraphQL edge handlers', () => {
    // Written as defaults, in framework tables and in GraphQL extensions: the extraction must
    // see each way a code is written.
    for (const code of [
      'UNAUTHORIZED', // a constructor default (errors.ts)
      'CONFLICT', // a default, and the foreign-key answer (error-handler.ts)
      'HEADERS_TOO_LARGE', // Node's client errors (error-handler.ts)
      'METHOD_NOT_ALLOWED', // mercurius' errors (graphql/errors.ts)
      'RESPONSE_TOO_LARGE', // extensions.code (graphql/plugin.ts)
      'QUERY_TOO_DEEP', // limitError (graphql/limits.ts)
      'RATE_LIMITED', // the limiter's builder (rate-limit.ts)
      'EMAIL_TAKEN', // a service's error
    ]) {
      assert.ok(codes.has(code), `${code} is found in src/`);
    }
  });

  it('documents every error code the service can answer, and only those', () => {
    const undocumented = sorted([...codes.keys()].filter((c) => !documented.includes(c)));
    const unknown = sorted(documented.filter((c) => !codes.has(c)));
    const where = undocumented.map((c) => `${c} (${codes.get(c)!.join(', ')})`);
    assert.deepEqual({ undocumented: where, unknown }, { undocumented: [], unknown: [] });
  });
});

describe('docs/reference/scripts.md', () => {
  // Each script has a heading: "### `npm run name`", or "### `npm start`" / "### `npm test`".
  const headings = [
    ...read('docs/reference/scripts.md').matchAll(/^#{2,4} `npm (?:run )?([A-Za-z0-9:_-]+)`/gm),
  ].map((m) => m[1]!);

  it('documents every npm script, and only those', () => {
    const scripts = npmScripts();
    assert.deepEqual(
      {
        undocumented: sorted(scripts.filter((s) => !headings.includes(s))),
        unknown: sorted(headings.filter((s) => !scripts.includes(s))),
      },
      { undocumented: [], unknown: [] },
    );
  });
});

describe('README.md and docs/', () => {
  const files = documentationFiles();

  it('name only npm scripts that exist', () => {
    const scripts = npmScripts();
    const missing = files.flatMap((file) =>
      npmRunNames(read(file))
        .filter((name) => !scripts.includes(name))
        .map((name) => `${file}: npm run ${name}`),
    );
    assert.deepEqual(sorted(missing), []);
  });

  it('link only to files that exist', () => {
    const broken = files.flatMap((file) =>
      relativeLinks(read(file))
        .filter((target) => !fs.existsSync(path.resolve(ROOT, path.dirname(file), target)))
        .map((target) => `${file} → ${target}`),
    );
    assert.deepEqual(sorted(broken), []);
  });

  it('keep the README under 10 KiB', () => {
    const bytes = fs.statSync(path.join(ROOT, 'README.md')).size;
    assert.ok(bytes <= README_MAX_BYTES, `README.md is ${bytes} bytes`);
  });

  it('describe the service as it is, not its history', () => {
    const history = [
      /\bissues? #?\d+/i, // "issue #4", "issue 12"
      /(?:^|[\s(])#\d+\b/, // "#4"
      /\bDESIGN\.md\b/,
      /\bused to\b/i, // "what used to make a search slow"
      /\buntil [^.\n]* landed\b/i, // "until products landed"
    ];
    const found = files.flatMap((file) =>
      prose(read(file))
        .split('\n')
        .flatMap((line, i) =>
          history.some((pattern) => pattern.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    assert.deepEqual(found, []);
  });
});

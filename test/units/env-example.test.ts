import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { configReadCalls, configVariables } from '../support/source-facts.js';

const example = fs.readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

const configNames = configVariables();
const exampleLines = example.split('\n').filter((line) => /^#?\s*[A-Z][A-Z0-9_]*=/.test(line));
const exampleNames = exampleLines.map((line) => /([A-Z][A-Z0-9_]*)=/.exec(line)![1]!);

describe('.env.example', () => {
  it('when config.ts reads a variable, then it names it through a literal the check can find', () => {
    // A read( whose name is not a literal would escape the comparisons below.
    assert.equal(configNames.length, configReadCalls());
    assert.ok(configNames.length > 0);
  });

  it('lists every variable config.ts reads, and none it does not read', () => {
    const missing = configNames.filter((name) => !exampleNames.includes(name));
    const unknown = exampleNames.filter((name) => !configNames.includes(name));
    assert.deepEqual({ missing, unknown }, { missing: [], unknown: [] });
  });

  it('names each variable once', () => {
    const repeated = exampleNames.filter((name, index) => exampleNames.indexOf(name) !== index);
    assert.deepEqual(repeated, []);
  });

  it('comments out every variable, so a copy changes nothing until one is uncommented', () => {
    assert.deepEqual(
      exampleLines.filter((line) => !line.startsWith('# ')),
      [],
    );
  });

  it('when every line is uncommented, then the configuration is the default one', () => {
    const uncommented = exampleLines.map((line) => line.slice('# '.length)).join('\n');
    assert.deepEqual(loadConfig(parseEnv(uncommented)), loadConfig({}));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modules } from '../../../src/app.js';
import { JOB_TYPES } from '../../../src/jobs.js';
import type { AnyJobDefinition } from '../../../src/platform/jobs/job.js';
import { JobRegistry, JobRegistryError } from '../../../src/platform/jobs/registry.js';
import type { OnceMailer } from '../../../src/platform/mail/deliveries.js';
import type { JobTools } from '../../../src/modules/module.js';

const job = (type: string): AnyJobDefinition => ({ type, queue: 'email', handle: async () => {} });

describe('the job registry', () => {
  it('when every job type has exactly one handler, then it builds and maps types to queues', () => {
    const registry = new JobRegistry(['a', 'b'], [job('a'), job('b')]);
    assert.deepEqual(registry.queueNames(), ['email']);
    assert.equal(registry.definition('b').type, 'b');
  });

  it('when a job type has no handler, then start-up throws naming it', () => {
    assert.throws(() => new JobRegistry(['a', 'b'], [job('a')]), {
      name: 'JobRegistryError',
      message: /no handler for b/,
    });
  });

  it('when a job type has two handlers, then start-up throws naming it', () => {
    assert.throws(() => new JobRegistry(['a'], [job('a'), job('a')]), /two handlers for a/);
  });

  it('when a handler is for an unknown type, then start-up throws naming it', () => {
    assert.throws(() => new JobRegistry(['a'], [job('a'), job('z')]), /unknown job type z/);
  });

  it('when a row has a type nobody handles, then looking it up throws', () => {
    const registry = new JobRegistry(['a'], [job('a')]);
    assert.throws(() => registry.definition('gone'), JobRegistryError);
  });

  it("when the app's job types meet the modules' handlers, then the registry is complete", () => {
    const handlers = modules.flatMap(
      (module) => module.jobs?.({} as OnceMailer, {} as JobTools) ?? [],
    );
    assert.doesNotThrow(() => new JobRegistry(JOB_TYPES, handlers));
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertLedgerInvariants } from '../support/ledger.js';
import { codeDrift } from './support/codes.js';
import { Findings } from './support/findings.js';
import { GraphqlSweep } from './support/graphql.js';
import { readOperations, type Operation } from './support/openapi.js';
import { RestSweep, trackHooks, type Tracker } from './support/rest.js';
import { banner, BUDGET_MS, reportPath, selected } from './support/settings.js';
import { ROLES, World, worldSkip } from './support/world.js';

/**
 * Every documented REST operation and every GraphQL root field, as guest, user and admin, with
 * hostile values in every parameter and body field. Each answer must be a client error in the
 * envelope with a documented code, or a success; never a 5xx. The ledger must balance after.
 */

/** This file's share of HOSTILE_BUDGET_MS; the concurrency file takes the rest. */
const SHARE = 0.78;
const REST_SHARE = 0.72;

describe('hostile inputs (PostgreSQL + Redis)', { skip: worldSkip }, () => {
  const started = Date.now();
  const deadline = started + BUDGET_MS * SHARE;
  const tracker: Tracker = { validation: false, handler: false };
  const findings = new Findings();
  let world: World;
  let operations: Operation[];

  before(async () => {
    console.log(banner('inputs'));
    world = await World.start(trackHooks(tracker));
    operations = (await readOperations(world.server)).filter((op) => selected(op.name));
  });

  after(async () => {
    await world?.close();
  });

  it('answers every REST variant with a client error in the envelope, or a success', async () => {
    const sweep = new RestSweep(world, findings, tracker);
    const restDeadline = started + BUDGET_MS * SHARE * REST_SHARE;
    // First the baseline and the whole-request variants of every operation: coverage doesn't
    // depend on the time left for the field properties.
    for (const op of operations) {
      for (const role of ROLES) {
        await world.repair();
        for (const { name, draft } of sweep.structural(op, role))
          await sweep.once(op, role, name, draft);
      }
    }
    // Then one property per operation, role, field and value class, within the budget.
    for (const [index, op] of operations.entries()) {
      const left = operations.length - index;
      const opDeadline = Date.now() + Math.max(0, restDeadline - Date.now()) / left;
      for (const role of ROLES) {
        await world.repair();
        const draft = sweep.baseline(op, role);
        for (const field of sweep.fieldsOf(op, draft)) {
          for (const klass of sweep.classesOf(field, draft)) {
            const remaining = opDeadline - Date.now();
            if (remaining <= 0) {
              findings.statsOf(op.name).skippedForTime++;
              continue;
            }
            await sweep.property(op, role, field, klass, remaining);
          }
        }
      }
    }
    await world.repair();
    const sent = [...findings.stats.values()].reduce((n, s) => n + s.sent, 0);
    console.log(`REST: ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('answers every GraphQL variant with documented error codes, never an internal error', async () => {
    const sweep = new GraphqlSweep(world, findings);
    await sweep.load();
    await sweep.run(deadline);
    await world.repair();
  });

  it('reaches the handler of every operation with some variant', () => {
    const unreached = [...findings.stats.values()]
      .filter((s) => s.handler === 0)
      .map((s) => s.operation);
    const undocumented = findings.undocumentedStatuses();
    console.log(
      `\nEvery operation (${((Date.now() - started) / 1000).toFixed(1)} s):\n${findings.table()}`,
    );
    if (undocumented)
      console.log(`\nStatuses the documents don't list (informational):\n${undocumented}`);
    const accepted = findings.renderAcceptedInvalid();
    if (accepted) {
      console.log(
        `\nBody values the schema refuses or the database can't store, answered 2xx (informational):\n${accepted}`,
      );
    }
    const drift = codeDrift();
    if (drift.unlisted.length || drift.unthrown.length) {
      console.log(
        `\nError codes thrown by src/ but not in ERROR_CODES: ${drift.unlisted.join(', ') || '-'};` +
          ` listed but not thrown: ${drift.unthrown.join(', ') || '-'} (informational)`,
      );
    }
    assert.deepEqual(
      unreached,
      [],
      'operations no variant reached (the generator needs a better baseline)',
    );
  });

  it('keeps the ledger balanced', async () => {
    await assertLedgerInvariants(world.app.database.db);
  });

  it('finds no hostile input the API answers wrongly', () => {
    const path = reportPath('inputs');
    findings.write(path, { seconds: (Date.now() - started) / 1000 });
    const list = findings.list();
    if (list.length)
      console.log(`\nFindings (${list.length}), also in ${path}:${findings.render()}`);
    else console.log(`\nNo findings; the report is in ${path}`);
    assert.equal(
      list.length,
      0,
      `${list.length} finding(s), grouped above; replay with ${banner('inputs')}`,
    );
  });
});

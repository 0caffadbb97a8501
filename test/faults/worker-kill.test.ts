import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { outboxRowsFor } from '../support/jobs.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { startService, waitUntilReady, type RunningService } from '../support/service-process.js';
import { HttpClient } from './support/http-client.js';
import { register } from './support/members.js';
import { emailJobsSettled, timeUntil } from './support/outcomes.js';
import { faultSkip, startStack, type FaultStack } from './support/stack.js';

/*
 * A worker dies (SIGKILL: no chance to give its job back) in the middle of sending an email.
 * BullMQ's stalled-job check hands the job to the surviving worker once the dead one's lock
 * expires; the delivery record makes sure the email still goes out once.
 */

const LOCK_MS = 1_000;
const STALLED_INTERVAL_MS = 500;

describe('SIGKILL of a worker during a job', { skip: faultSkip, timeout: 170_000 }, () => {
  let stack: FaultStack;
  let api: RunningService | undefined;
  let client: HttpClient | undefined;
  const workers: WorkerProcess[] = [];

  before(async () => {
    stack = await startStack({
      WORKER_LOCK_DURATION_MS: String(LOCK_MS),
      WORKER_STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS),
      JOB_BACKOFF_MS: '100',
    });
    api = await startService(stack.env, 90_000);
    await waitUntilReady(api.port, 60_000);
  });
  after(async () => {
    client?.close();
    api?.kill();
    for (const worker of workers) worker.signal('SIGKILL');
    await stack?.close();
  });

  async function startWorker() {
    const worker = spawnWorker({ ...stack.env, MIGRATE_ON_START: 'false' });
    workers.push(worker);
    await worker.waitForLog(/worker started/, 90_000);
    return worker;
  }

  it('when a worker is killed mid-send, then the job is retried after the stall interval and each email arrives once', async (t: TestContext) => {
    const http = (client = new HttpClient(api!.port));
    const doomed = await startWorker();
    const held = stack.smtp.holdNext();
    const emails = Array.from({ length: 5 }, () => `fault-${randomUUID()}@example.com`);
    for (const email of emails) assert.equal((await register(http, email)).status, 201);
    await held;
    // The survivor is up before the kill, so the figure below is the stall, not a start-up.
    const survivor = await startWorker();
    const sentBefore = new Set(stack.smtp.messages.map((m) => m.to));
    doomed.signal('SIGKILL');
    const killedAt = Date.now();
    assert.equal((await doomed.exited).signal, 'SIGKILL');
    // The dead worker's SMTP session ends without a message, as a crash would leave it.
    stack.smtp.releaseHeld();

    const mailsTo = (email: string) => stack.smtp.messages.filter((m) => m.to === email);
    await timeUntil(
      () => emails.every((email) => mailsTo(email).length > 0),
      'every email after the kill',
    );
    const retriedAfterMs = Date.now() - killedAt;
    const stalled = await survivor.waitForLog(/job stalled; retrying it/, 5_000);
    // Quiescent (every row relayed, no job queued or running): the counts below are final.
    const db = stack.database().db;
    await emailJobsSettled(db, stack.redis.url, emails);
    const orphaned = emails.filter((email) => !sentBefore.has(email));
    t.diagnostic(
      `${orphaned.length} email(s) left by the killed worker, all delivered ${retriedAfterMs} ms after the kill (lock ${LOCK_MS} ms, stall check every ${STALLED_INTERVAL_MS} ms)`,
    );

    assert.ok(orphaned.length > 0, 'the killed worker held a job');
    assert.ok(retriedAfterMs <= LOCK_MS + STALLED_INTERVAL_MS + 10_000, 'retried within seconds');
    const ids: string[] = [];
    for (const email of emails) {
      const mails = mailsTo(email);
      assert.equal(mails.length, 1, `exactly one email to ${email}`);
      const [row] = await outboxRowsFor(db, email);
      assert.equal(mails[0]!.messageId, `<${row!.id}@stratum.local>`, 'sent for its outbox row');
      ids.push(row!.id);
    }
    assert.ok(
      ids.some((id) => stalled.includes(id)),
      'the survivor took over one of these jobs as stalled',
    );
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileMailer } from '../../src/platform/mail/nodemailer.js';

const message = (id: string) => ({
  to: 'ada@example.com',
  subject: 'Hello',
  text: 'Hello',
  html: '<p>Hello</p>',
  messageId: `<${id}@stratum.test>`,
});

test('when the mail folder is removed between sends, then the next email still lands in it', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'stratum-mail-'));
  const dir = path.join(root, 'mail');
  try {
    const mailer = fileMailer(dir, 'stratum@example.com');
    await mailer.send(message('first'));
    assert.deepEqual(await fs.readdir(dir), ['first@stratum.test.eml']);
    await fs.rm(dir, { recursive: true });
    await mailer.send(message('second'));
    assert.deepEqual(await fs.readdir(dir), ['second@stratum.test.eml']);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

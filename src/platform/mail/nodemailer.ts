import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailMessage, Mailer } from './mailer.js';

/** Sends through any nodemailer transport. */
class NodemailerMailer implements Mailer {
  constructor(
    private readonly transport: Transporter,
    private readonly from: string,
    private readonly store?: (messageId: string, raw: Buffer) => Promise<void>,
  ) {}

  async send(message: MailMessage): Promise<{ messageId: string }> {
    const info = (await this.transport.sendMail({ from: this.from, ...message })) as {
      messageId: string;
      message?: Buffer;
    };
    if (this.store && info.message) await this.store(info.messageId, info.message);
    return { messageId: info.messageId };
  }
}

export function smtpMailer(smtpUrl: string, from: string): Mailer {
  return new NodemailerMailer(nodemailer.createTransport(smtpUrl), from);
}

/**
 * Without SMTP, each message becomes an .eml file in `dir` (open it in any mail client), named
 * after its Message-ID, so a repeated send overwrites instead of piling up.
 */
export function fileMailer(dir: string, from: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  // The folder is made once, and again only if someone removed it meanwhile.
  let folder: Promise<unknown> | undefined;
  return new NodemailerMailer(transport, from, async (messageId, raw) => {
    const name = messageId.replace(/^<|>$/g, '').replace(/[^\w.@-]/g, '_');
    // Written aside, then renamed: whoever watches the folder never reads half a message.
    const file = path.join(dir, `${name}.eml`);
    folder ??= fs.mkdir(dir, { recursive: true }).catch((err: unknown) => {
      folder = undefined;
      throw err;
    });
    await folder;
    await fs.writeFile(`${file}.tmp`, raw).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await (folder = fs.mkdir(dir, { recursive: true }));
      await fs.writeFile(`${file}.tmp`, raw);
    });
    await fs.rename(`${file}.tmp`, file);
  });
}

import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  to: string;
  messageId: string;
  subject: string;
  raw: string;
}

export interface TestSmtpServer {
  url: string;
  messages: ReceivedMail[];
  /**
   * Holds the next MAIL FROM without an answer: resolves when a client is held (so a test can
   * kill it mid-send); the held session is answered with an error when `release` is called.
   */
  holdNext(): Promise<void>;
  /** Delays the answer to every MAIL FROM by ms. */
  delayEach(ms: number): void;
  releaseHeld(): void;
  /** MAIL FROM commands seen so far: a client started sending. */
  mailFromCount(): number;
  /** Refuses every message (a transient 451) while true. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

function header(raw: string, name: string): string {
  return new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1]?.trim() ?? '';
}

/** A real SMTP server (smtp-server) on a free port that keeps what it accepted. */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  let hold: (() => void) | undefined;
  const held: Array<() => void> = [];
  let delayMs = 0;
  let mailFroms = 0;
  let refusing = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onMailFrom(_address, _session: SMTPServerSession, callback) {
      mailFroms++;
      if (refusing) {
        const error = Object.assign(new Error('try again later'), { responseCode: 451 });
        return callback(error);
      }
      if (hold) {
        const announce = hold;
        hold = undefined;
        held.push(() => callback(new Error('held session released')));
        announce();
        return;
      }
      setTimeout(() => callback(), delayMs);
    },
    onData(stream, _session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        messages.push({
          to: header(raw, 'To'),
          messageId: header(raw, 'Message-ID'),
          subject: header(raw, 'Subject'),
          raw,
        });
        callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    holdNext: () => new Promise<void>((resolve) => (hold = resolve)),
    delayEach: (ms) => void (delayMs = ms),
    mailFromCount: () => mailFroms,
    refuse: (on) => void (refusing = on),
    releaseHeld: () => held.splice(0).forEach((release) => release()),
    close: () =>
      new Promise<void>((resolve) => {
        held.splice(0).forEach((release) => release());
        server.close(() => resolve());
      }),
  };
}

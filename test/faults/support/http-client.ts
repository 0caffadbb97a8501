import { randomUUID } from 'node:crypto';
import http from 'node:http';

/** One request as the client saw it. */
export interface Outcome {
  method: string;
  path: string;
  requestId: string;
  startedAt: number;
  ms: number;
  /** 0 when no response came (see `error`). */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** The socket error, when no response came. */
  error?: string;
  /** Sent on a kept-alive connection that had served an earlier request. */
  reusedSocket: boolean;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

// No request may outlast this: a hang is recorded as an outcome rather than stalling the test.
const CLIENT_TIMEOUT_MS = 20_000;

/**
 * A JSON client over keep-alive connections, like a real API client or load balancer. It never
 * throws: every request becomes an Outcome in `outcomes`, carrying its own x-request-id so the
 * service's log lines can be matched to it.
 */
export class HttpClient {
  readonly outcomes: Outcome[] = [];
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    maxSockets = 16,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Outcome> {
    const requestId = `fault-${randomUUID()}`;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { 'x-request-id': requestId, ...options.headers };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const startedAt = Date.now();
    return new Promise((resolve) => {
      let settled = false;
      const done = (fields: Partial<Outcome>, reusedSocket: boolean) => {
        if (settled) return;
        settled = true;
        const outcome: Outcome = {
          method,
          path,
          requestId,
          startedAt,
          ms: Date.now() - startedAt,
          status: 0,
          headers: {},
          body: undefined,
          reusedSocket,
          ...fields,
        };
        this.outcomes.push(outcome);
        resolve(outcome);
      };
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('error', (err) => done({ error: err.message }, req.reusedSocket));
          res.on('end', () =>
            done(
              { status: res.statusCode ?? 0, headers: res.headers, body: parse(text) },
              req.reusedSocket,
            ),
          );
        },
      );
      req.setTimeout(CLIENT_TIMEOUT_MS, () => req.destroy(new Error('client timeout')));
      req.on('error', (err: NodeJS.ErrnoException) =>
        done({ error: err.code ?? err.message }, req.reusedSocket),
      );
      req.end(payload);
    });
  }

  close() {
    this.agent.destroy();
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The `data` of a success envelope. */
export function dataOf<T>(outcome: Outcome): T {
  return (outcome.body as { data: T }).data;
}

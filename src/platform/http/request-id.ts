import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { namedPlugin } from './plugin.js';

// A caller's id is kept only if it is short and plain, so it is safe in logs and headers.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Echoes the request's id in `x-request-id`: the first onRequest hook, so every answer has it. */
export const requestIdPlugin = namedPlugin(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      void reply.header('x-request-id', request.id);
    });
  },
  { name: 'request-id' },
);

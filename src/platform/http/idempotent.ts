import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requestFingerprint } from '../idempotency/fingerprint.js';
import {
  IdempotentReplay,
  type IdempotencyClaim,
  type IdempotencyKeys,
} from '../idempotency/idempotency.js';
import type { StoredResponse } from '../idempotency/keys.repository.js';

const KEY = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7E]+$',
  description:
    'A client-chosen unique key (a UUID, say). A repeat with the same key and body replays ' +
    'the first response without a second effect; the same key with another body is 422.',
  examples: ['5f1d7c2a-8e3b-4a6c-9d0e-1f2a3b4c5d6e'],
});

/** The route schema's headers: the Idempotency-Key, required or optional. */
export function idempotencyHeaders(required: boolean) {
  return Type.Object({ 'idempotency-key': required ? KEY : Type.Optional(KEY) });
}

/**
 * Runs a service call under the request's Idempotency-Key, if it has one, and sends the
 * response: the one stored with the effect, or the stored one of an earlier request with the
 * same key (marked `idempotent-replayed: true`).
 */
export async function sendIdempotently<R>(
  request: FastifyRequest,
  reply: FastifyReply,
  keys: IdempotencyKeys,
  run: (claim?: IdempotencyClaim<R>) => Promise<R>,
  render: (result: R) => StoredResponse,
): Promise<FastifyReply> {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return send(reply, render(await run()));
  const claim = keys.open<R>(
    { ownerId: request.actor.userId ?? 'guest', key },
    requestFingerprint(request.method, request.url, request.body),
    render,
  );
  try {
    const result = await run(claim);
    return send(reply, claim.responseFor(result) ?? render(result));
  } catch (err) {
    if (!(err instanceof IdempotentReplay)) throw err;
    void reply.header('idempotent-replayed', 'true');
    return send(reply, err.response);
  }
}

function send(reply: FastifyReply, response: StoredResponse) {
  return reply.code(response.statusCode).headers(response.headers).send(response.body);
}

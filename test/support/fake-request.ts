import type { FastifyRequest } from 'fastify';

/** The two fields the envelope helpers read from a request, for pure tests of them. */
export function fakeRequest(url: string, id = 'req-test-1'): FastifyRequest {
  return { url, id } as unknown as FastifyRequest;
}

import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../src/composition/services.js';
import type { UserRole } from '../../src/platform/db/schema.js';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

/**
 * Creates a user directly through the service, then logs in over HTTP like a client. An admin
 * makes it, so its email counts as verified and its tokens may move money.
 */
export async function createUserAndLogin(
  server: FastifyInstance,
  services: Services,
  role: UserRole = 'user',
): Promise<TestUser> {
  const email = `u-${randomUUID()}@example.com`;
  const password = 'correct horse battery';
  const admin = { userId: 'system', role: 'admin' as const };
  const user = await services.users.createUser(admin, { name: 'Test', email, password, role });
  const tokens = await login(server, email, password);
  return { id: user.id, email, password, ...tokens };
}

export async function login(server: FastifyInstance, email: string, password: string) {
  const res = await server.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    // Its own address, so set-up logins never eat into a rate-limit budget a test is counting.
    remoteAddress: `10.255.${randomInt(255)}.${randomInt(1, 255)}`,
  });
  assert.equal(res.statusCode, 200, res.body);
  const { accessToken, refreshToken } = res.json<{
    data: { accessToken: string; refreshToken: string };
  }>().data;
  return { accessToken, refreshToken };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

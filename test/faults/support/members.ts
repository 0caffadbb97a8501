import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dataOf, type HttpClient, type Outcome } from './http-client.js';

/** A user signed up and logged in over HTTP, as a client would. */
export interface Member {
  id: string;
  email: string;
  token: string;
}

export const PASSWORD = 'fault test password';

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** POST /auth/register for a new address (from `address` when the service trusts proxies). */
export function register(client: HttpClient, email: string, address?: string): Promise<Outcome> {
  return client.request('POST', '/api/v1/auth/register', {
    body: { name: 'Fault Tester', email, password: PASSWORD },
    headers: address ? { 'x-forwarded-for': address } : {},
  });
}

export async function login(client: HttpClient, email: string, password = PASSWORD) {
  const res = await client.request('POST', '/api/v1/auth/login', { body: { email, password } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return dataOf<{ accessToken: string; user: { id: string } }>(res);
}

export async function signUp(client: HttpClient, address?: string): Promise<Member> {
  const email = `fault-${randomUUID()}@example.com`;
  const res = await register(client, email, address);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const { accessToken, user } = await login(client, email);
  return { id: user.id, email, token: accessToken };
}

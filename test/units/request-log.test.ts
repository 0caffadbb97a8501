import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { OneLineRequestLog } from '../../src/platform/logging/request-log.js';
import { prettyMessage } from '../../src/platform/logging/logger.js';

function serverWithLog(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const server = Fastify({
    logger: { level, stream },
    logController: new OneLineRequestLog({ requestIdLogLabel: 'requestId' }),
  });
  server.get('/hello', async () => ({ hello: 'world' }));
  server.get('/boom', async () => {
    throw new Error('boom');
  });
  return { server, lines };
}

describe('the request log', () => {
  it('when a request is answered, then one line says method, url, status, duration and request id', async () => {
    const { server, lines } = serverWithLog();
    await server.inject({ method: 'GET', url: '/hello?x=1', headers: { 'x-request-id': 'r-1' } });
    const requestLines = lines.filter((line) => line.requestId !== undefined);
    assert.equal(requestLines.length, 1, JSON.stringify(lines));
    const [line] = requestLines;
    assert.equal(line!.msg, 'request completed');
    assert.equal(line!.method, 'GET');
    assert.equal(line!.url, '/hello?x=1');
    assert.equal(line!.statusCode, 200);
    assert.equal(typeof line!.responseTime, 'number');
    assert.equal(typeof line!.requestId, 'string');
    await server.close();
  });

  it('when the level is debug, then the arrival has a line of its own too', async () => {
    const { server, lines } = serverWithLog('debug');
    await server.inject({ method: 'GET', url: '/hello' });
    const messages = lines.filter((line) => line.requestId !== undefined).map((line) => line.msg);
    assert.deepEqual(messages, ['incoming request', 'request completed']);
    await server.close();
  });

  it('when a request fails, then its one line carries the status with the error logged beside it', async () => {
    const { server, lines } = serverWithLog();
    await server.inject({ method: 'GET', url: '/boom' });
    const completed = lines.find((line) => line.msg === 'request completed');
    assert.equal(completed?.statusCode, 500);
    assert.equal(lines.filter((line) => line.msg === 'incoming request').length, 0);
    await server.close();
  });

  it('when printed for a person, then the request line reads as method, url, status, duration and id', () => {
    const line = {
      msg: 'request completed',
      method: 'POST',
      url: '/api/v1/users',
      statusCode: 201,
      responseTime: 12.345,
      requestId: 'abc',
    };
    assert.equal(prettyMessage(line, 'msg'), 'POST /api/v1/users 201 12.3 ms  abc');
    assert.equal(prettyMessage({ msg: 'shutting down' }, 'msg'), 'shutting down');
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { apiUrlOf, bannerText, startFacts } from '../../src/platform/banner.js';

describe('the start banner', () => {
  it('when the database is embedded, then it names the folder, in-memory Redis, the mail folder and the stopped-server admin command', () => {
    const config = loadConfig({ DATA_DIR: path.resolve('.data') });
    const text = bannerText(startFacts(config, 'http://127.0.0.1:3000'), config.nodeEnv);
    assert.equal(
      text,
      [
        'Stratum is running (development)',
        '  API       http://127.0.0.1:3000',
        '  docs      http://127.0.0.1:3000/docs',
        '  GraphiQL  http://127.0.0.1:3000/graphiql',
        '  metrics   http://127.0.0.1:3000/metrics',
        '  data      embedded PostgreSQL (PGlite) in .data/pglite',
        '  Redis     none: rate limits, login throttling and caches live in this process',
        '  jobs      run in this process',
        '  mail      .eml files in .data/mail',
        "  admin     stop the server, run `npm run user:create -- --email you@example.com --role admin --password '…'`, start again; or set ADMIN_EMAIL and ADMIN_PASSWORD and restart",
        '',
      ].join('\n'),
    );
  });

  it('when the config is production, then it names the servers without passwords and leaves GraphiQL out', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: 'postgres://app:s3cret@db.internal/stratum',
      REDIS_URL: 'redis://:hunter2@cache.internal:6380',
      SMTP_URL: 'smtps://mailer:pw@smtp.example.com',
    });
    const facts = startFacts(config, apiUrlOf('0.0.0.0', 8080));
    assert.deepEqual(facts, {
      api: 'http://localhost:8080',
      docs: 'http://localhost:8080/docs',
      metrics: 'http://localhost:8080/metrics',
      data: 'PostgreSQL at db.internal:5432/stratum',
      redis: 'Redis at cache.internal:6380',
      jobs: 'BullMQ on Redis at cache.internal:6380: run `npm run worker`',
      mail: 'SMTP at smtp.example.com:465',
      admin:
        "`npm run user:create -- --email you@example.com --role admin --password '…'`, or set ADMIN_EMAIL and ADMIN_PASSWORD and restart",
    });
    const text = bannerText(facts, config.nodeEnv);
    assert.match(text, /^Stratum is running \(production\)\n/);
    assert.doesNotMatch(text, /s3cret|hunter2|mailer:pw|GraphiQL/);
  });

  it('when ADMIN_EMAIL is set, then the admin line names it instead of the command', () => {
    const config = loadConfig({
      ADMIN_EMAIL: 'ops@example.com',
      ADMIN_PASSWORD: 'a long admin passphrase',
    });
    assert.equal(
      startFacts(config, 'http://127.0.0.1:3000').admin,
      'ops@example.com (ADMIN_EMAIL)',
    );
  });
});

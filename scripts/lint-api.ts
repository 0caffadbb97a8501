import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { adapters } from '../src/composition/dependencies.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createPglite } from '../src/platform/db/pglite.js';
import { API_VERSIONS } from '../src/platform/http/versioning.js';

/**
 * `npm run lint:api`: builds the app as main.ts does (on a throwaway embedded database, never
 * listening), writes each version's OpenAPI document to a temporary folder and lints them with
 * Spectral and the OWASP ruleset (.spectral.yaml). Exits with Spectral's status.
 */

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stratum-openapi-'));
try {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: dir,
    JWT_SECRET: 'x'.repeat(32),
    // So the documents hold the OpenID Connect routes too; the provider is never asked (lazy).
    OIDC_ISSUER: 'https://accounts.example.com',
    OIDC_CLIENT_ID: 'stratum',
    OIDC_CLIENT_SECRET: 'lint-api',
    OIDC_REDIRECT_URI: 'https://api.example.com/api/v1/auth/oidc/callback',
  });
  const database = await createPglite(path.join(dir, 'pglite'));
  await migrate(database.db);
  const app = await buildApp(config, adapters(database, undefined, config));
  const files: string[] = [];
  try {
    await app.server.ready();
    for (const version of API_VERSIONS) {
      const res = await app.server.inject({ method: 'GET', url: `/openapi/v${version}.json` });
      const file = path.join(dir, `v${version}.json`);
      await fs.writeFile(file, res.body);
      files.push(file);
    }
  } finally {
    await app.server.close();
    await database.close();
  }
  const spectral = spawnSync(
    'spectral',
    ['lint', '--ruleset', '.spectral.yaml', '--fail-severity', 'error', ...files],
    { stdio: 'inherit', shell: false },
  );
  process.exitCode = spectral.status ?? 1;
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}

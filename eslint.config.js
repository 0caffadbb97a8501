import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Relative specifiers that reach src/platform/http or src/platform/db from anywhere in src/.
const PLATFORM_HTTP = '^\\.\\.?/(\\.\\./)*(platform/)?http/';
const PLATFORM_DB = '^\\.\\.?/(\\.\\./)*(platform/)?db/';
const HTTP_FREE =
  'Services, repositories and platform/{db,cache,jobs,idempotency} import nothing from Fastify, ' +
  'mercurius or platform/http: throw the errors of platform/errors.ts, page with platform/paging.ts.';
const DB_FREE =
  'Routes and GraphQL resolvers reach the database through a service: no kysely, no platform/db.';
const SQL_FREE =
  'Services see no SQL: repositories build it, and a single statement is assembled from the ' +
  'opaque parts of platform/db/single-statement.ts that repositories return.';

// ESLint's flat config replaces a rule's options per file instead of merging them, so each block
// below spells out all its restrictions, from these shared pieces.
const httpFreePaths = [
  { name: 'fastify', message: HTTP_FREE },
  { name: 'mercurius', message: HTTP_FREE },
];
const httpFreePatterns = [
  { group: ['@fastify/*', 'fastify/*', 'mercurius/*'], message: HTTP_FREE },
  { regex: PLATFORM_HTTP, message: HTTP_FREE },
];
const restrictImports = (paths, patterns) => ({
  'no-restricted-imports': ['error', { paths, patterns }],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  // The layers (docs/patterns): what a layer may not import, so a dependency in the wrong
  // direction fails `npm run lint`.
  {
    // Services, repositories and the platform below HTTP know nothing of the web framework.
    files: [
      'src/modules/**/*.service.ts',
      'src/modules/**/*.repository.ts',
      'src/platform/db/**/*.ts',
      'src/platform/cache/**/*.ts',
      'src/platform/jobs/**/*.ts',
      'src/platform/idempotency/**/*.ts',
      'src/platform/errors.ts',
      'src/platform/paging.ts',
      'src/platform/logger.ts',
    ],
    rules: restrictImports(httpFreePaths, httpFreePatterns),
  },
  {
    // Repositories take domain types, not the HTTP schemas' (a module's *.types.ts holds them).
    files: ['src/modules/**/*.repository.ts'],
    rules: restrictImports(httpFreePaths, [
      ...httpFreePatterns,
      {
        regex: '\\.schemas(\\.js)?$',
        message: "A repository doesn't import the HTTP schemas: move the type to a *.types.ts.",
      },
    ]),
  },
  {
    // Services pass repositories' opaque statement parts along, they don't write SQL.
    files: ['src/modules/**/*.service.ts'],
    rules: restrictImports(
      [...httpFreePaths, { name: 'kysely', message: SQL_FREE }],
      [...httpFreePatterns, { group: ['kysely/*'], message: SQL_FREE }],
    ),
  },
  {
    // Routes and resolvers reach the database through services only.
    files: ['src/modules/**/*.routes.ts', 'src/modules/**/*.graphql.ts', 'src/graphql/**/*.ts'],
    rules: restrictImports(
      [{ name: 'kysely', message: DB_FREE }],
      [
        { group: ['kysely/*'], message: DB_FREE },
        { regex: PLATFORM_DB, message: DB_FREE },
      ],
    ),
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { withGlobalResponses, withImplicitBounds } from './openapi-limits.js';
import {
  API_VERSION_HEADER,
  API_VERSIONS,
  DEFAULT_API_VERSION,
  type ApiVersion,
} from './versioning.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The parts of an OpenAPI document this file reads or writes; the rest passes through. */
interface Operation {
  parameters?: unknown[];
  responses?: Record<string, unknown>;
  [field: string]: unknown;
}
type PathItem = Partial<Record<(typeof METHODS)[number], Operation>> & Record<string, unknown>;
export interface Document {
  info: { title: string; version: string; [field: string]: unknown };
  paths?: Record<string, PathItem | undefined>;
  [field: string]: unknown;
}

const DESCRIPTION = [
  'Every success is `{ data, meta }`; every error is `{ error: { code, message, details }, meta }`.',
  '',
  'Versions: `/api/v1/...` and `/api/v2/...`. An unversioned `/api/...` takes its version from',
  `the \`${API_VERSION_HEADER}\` header (\`1\` or \`2\`, also \`v1\`/\`v2\`; none means ${DEFAULT_API_VERSION}),`,
  'so each operation below is also served at its path without the version segment. A versioned',
  'URL wins over the header; an unknown version is `400 UNSUPPORTED_API_VERSION`. Responses say',
  `which version served them in \`${API_VERSION_HEADER}\`. One document per version:`,
  '`/openapi/v1.json`, `/openapi/v2.json`.',
].join('\n');

/** The header form of a version, as a parameter of each of its operations. */
function versionParameter(version: ApiVersion) {
  const values = [String(version), `v${version}`];
  return {
    name: API_VERSION_HEADER,
    in: 'header',
    required: false,
    schema: { type: 'string', enum: values },
    example: String(version),
    description:
      `Selects v${version} for the same path without \`/v${version}\` (e.g. \`/api/users\`)` +
      (version === DEFAULT_API_VERSION ? ', which is also the default. ' : '. ') +
      'Ignored on a versioned path: the URL wins.',
  };
}

function forVersion(operation: Operation, version: ApiVersion, deprecated: boolean): Operation {
  const parameters = [...(operation.parameters ?? []), versionParameter(version)];
  const responses = withGlobalResponses(operation.responses ?? {});
  return { ...operation, parameters, responses, ...(deprecated ? { deprecated: true } : {}) };
}

/** Its own /api paths and the health checks; GraphQL describes itself (introspection). */
function belongsTo(path: string, version: ApiVersion): boolean {
  return path.startsWith('/health/') || path.startsWith(`/api/v${version}/`);
}

/**
 * One version's document, cut from the one Fastify generates from every route: its own /api
 * paths and the health checks, with the api-version header on each /api operation.
 */
export function versionDocument(
  full: Document,
  version: ApiVersion,
  options: { deprecated?: boolean } = {},
): Document {
  const paths: Record<string, PathItem> = {};
  for (const [path, item] of Object.entries(full.paths ?? {})) {
    if (!item || !belongsTo(path, version)) continue;
    if (!path.startsWith('/api/')) {
      paths[path] = item;
      continue;
    }
    const versioned: PathItem = { ...item };
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) versioned[method] = forVersion(operation, version, !!options.deprecated);
    }
    paths[path] = versioned;
  }
  return withImplicitBounds({
    ...full,
    info: { ...full.info, title: `${full.info.title} v${version}`, version: `${version}.0.0` },
    paths,
  }) as Document;
}

/** The OpenAPI documents generated from the route schemas, one per version, and a docs UI. */
export async function registerOpenApi(app: FastifyInstance, v1Deprecated = false) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Stratum API', version: '1.0.0', description: DESCRIPTION },
      tags: [
        { name: 'auth' },
        { name: 'users' },
        { name: 'posts' },
        { name: 'products' },
        { name: 'accounts' },
        { name: 'orders' },
        { name: 'health' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'Access token from /api/v1/auth/login, valid 15 minutes by default. Verified as ' +
              'RFC8725 advises: one configured HMAC algorithm, issuer, audience and expiry checked.',
          },
        },
      },
    },
    // Name shared schemas after their $id, so the document reads `#/components/schemas/User`.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: {
      urls: API_VERSIONS.map((v) => ({ url: `/openapi/v${v}.json`, name: `v${v}` })),
      // The UI would send the documents to swagger.io's validator for its badge.
      validatorUrl: null,
    },
    // The plugin's policy (its scripts by hash), kept to this origin: no https: fonts or styles,
    // no validator image, and no upgrade-insecure-requests, which breaks the page over plain HTTP.
    // Swagger UI sets inline styles on its elements, so styles (never scripts) may be inline.
    staticCSP: true,
    transformStaticCSP: (header: string) =>
      header
        .replaceAll(' https:', '')
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
        .replace(' validator.swagger.io', '')
        .replace(' upgrade-insecure-requests;', ''),
  });
  const documents = new Map<ApiVersion, Document>();
  const documentOf = (version: ApiVersion) => {
    let document = documents.get(version);
    if (!document) {
      const full = app.swagger() as Document;
      document = versionDocument(full, version, { deprecated: version === 1 && v1Deprecated });
      documents.set(version, document);
    }
    return document;
  };
  for (const version of API_VERSIONS) {
    app.get(`/openapi/v${version}.json`, { schema: { hide: true } }, async () =>
      documentOf(version),
    );
  }
  // The address clients knew before v2: the v1 document.
  app.get('/openapi.json', { schema: { hide: true } }, async () => documentOf(1));
}

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** The OpenAPI document generated from the route schemas, and a docs UI over it. */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stratum API',
        version: '1.0.0',
        description:
          'Every success is `{ data, meta }`; every error is `{ error: { code, message, details }, meta }`.',
      },
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
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    // Name shared schemas after their $id, so the document reads `#/components/schemas/User`.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { locationOf } from '../../platform/http/location.js';
import {
  envelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  ok,
} from '../../platform/http/envelope.js';
import { paginated } from '../../platform/http/pagination.js';
import type { Product } from './products.repository.js';
import {
  CreateProductBody,
  ListProductsQuery,
  PatchProductBody,
  PRODUCT_EXAMPLE,
  ProductIdParams,
  ReplaceProductBody,
} from './products.schemas.js';
import type { ProductsService } from './products.service.js';

const ProductRef = Type.Ref('Product');
const tags = ['products'];
const security = [{ bearerAuth: [] }];
// Anyone may read the catalogue; a token only widens what is visible.
const optionalSecurity: Record<string, string[]>[] = [{}, { bearerAuth: [] }];

/** Weak: the same version is the same product, whatever the encoding the response gets. */
const etagOf = (product: Product) => `W/"${product.version}"`;

function isFresh(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (!header) return false;
  return header === '*' || header.split(',').some((tag) => tag.trim() === etag);
}

/** The products controller: HTTP in, service call, envelope out. No rules here. */
export const productsRoutes: FastifyPluginAsyncTypebox<{ products: ProductsService }> = async (
  app,
  { products },
) => {
  app.get(
    '/products',
    {
      schema: {
        tags,
        security: optionalSecurity,
        summary: 'List products (anyone; includeInactive needs write:products)',
        querystring: ListProductsQuery,
        response: {
          200: listEnvelopeSchema(ProductRef, {
            description: 'One page of the catalogue',
            example: [PRODUCT_EXAMPLE],
            path: '/api/v1/products',
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => {
      const {
        page = 1,
        pageSize = 20,
        sort = '-createdAt',
        includeInactive = false,
      } = request.query;
      const result = await products.listProducts(request.actor, {
        page,
        pageSize,
        sort,
        includeInactive,
      });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.get(
    '/products/:id',
    {
      schema: {
        tags,
        security: optionalSecurity,
        summary: 'Read a product (anyone; inactive ones only with write:products)',
        params: ProductIdParams,
        response: {
          200: envelopeSchema(ProductRef, {
            description: 'The product; ETag is its version',
            example: PRODUCT_EXAMPLE,
          }),
          304: Type.Null({ description: 'Not modified: If-None-Match names its version' }),
          ...errorResponses(400, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const product = await products.getProduct(request.actor, request.params.id);
      const etag = etagOf(product);
      void reply.header('etag', etag);
      if (isFresh(request, etag)) return reply.status(304).send(null);
      return ok(request, product);
    },
  );

  app.post(
    '/products',
    {
      schema: {
        tags,
        security,
        summary: 'Create a product (write:products)',
        body: CreateProductBody,
        response: {
          201: envelopeSchema(ProductRef, {
            description: 'The product created; Location is its address',
            example: PRODUCT_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const product = await products.createProduct(request.actor, request.body);
      return reply
        .status(201)
        .header('location', locationOf(app.prefix, 'products', product.id))
        .header('etag', etagOf(product))
        .send(ok(request, product));
    },
  );

  app.put(
    '/products/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Replace a product (write:products)',
        params: ProductIdParams,
        body: ReplaceProductBody,
        response: {
          200: envelopeSchema(ProductRef, {
            description: 'The product as replaced',
            example: PRODUCT_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const product = await products.replaceProduct(request.actor, request.params.id, request.body);
      return reply.header('etag', etagOf(product)).send(ok(request, product));
    },
  );

  app.patch(
    '/products/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change some fields of a product (write:products)',
        params: ProductIdParams,
        body: PatchProductBody,
        response: {
          200: envelopeSchema(ProductRef, {
            description: 'The product as changed',
            example: { ...PRODUCT_EXAMPLE, priceMinor: 3900 },
          }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const product = await products.updateProduct(request.actor, request.params.id, request.body);
      return reply.header('etag', etagOf(product)).send(ok(request, product));
    },
  );

  app.delete(
    '/products/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Deactivate a product (write:products); it stays for the orders that name it',
        params: ProductIdParams,
        response: {
          204: Type.Null({ description: 'Deactivated' }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      await products.deactivateProduct(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
};

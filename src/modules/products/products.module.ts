import type { AppModule } from '../module.js';
import { productsRoutes } from './products.routes.js';
import { ProductSchema } from './products.schemas.js';
import type { ProductsService } from './products.service.js';

/** The product catalogue. */
export const productsModule: AppModule<{ products: ProductsService }> = {
  name: 'products',
  schemas: [ProductSchema],
  async routes(server, { products }) {
    await server.register(productsRoutes, { prefix: '/api/v1', products });
  },
};

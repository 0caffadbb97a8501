import type { AppModule } from '../module.js';
import { securityGraphql } from './security.graphql.js';
import { securityRoutes } from './security.routes.js';
import { SecurityEventSchema } from './security.schemas.js';
import type { SecurityEventsService } from './security.service.js';

/** The security log, read (it is written by the flows it records, through SecurityLog). */
export const securityModule: AppModule<{ securityEvents: SecurityEventsService }> = {
  name: 'security',
  schemas: [SecurityEventSchema],
  async routes(server, { securityEvents }) {
    await server.register(securityRoutes, { prefix: '/api/v1', securityEvents });
  },
  graphql: ({ securityEvents }) => [securityGraphql(securityEvents)],
};

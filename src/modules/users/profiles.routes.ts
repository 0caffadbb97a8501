import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import type { ProfilesService } from './profiles.service.js';
import { PUBLIC_PROFILE_EXAMPLE, UserIdParams } from './users.schemas.js';

const PublicProfile = Type.Ref('PublicProfile');

/** Public profiles: readable by anyone, guests included. */
export const profilesRoutes: FastifyPluginAsyncTypebox<{ profiles: ProfilesService }> = async (
  app,
  { profiles },
) => {
  app.get(
    '/users/:id/profile',
    {
      schema: {
        tags: ['users'],
        summary: "Read a user's public profile (anyone)",
        params: UserIdParams,
        response: {
          200: envelopeSchema(PublicProfile, {
            description: "The user's public profile",
            example: PUBLIC_PROFILE_EXAMPLE,
          }),
          ...errorResponses(400, 404, 429),
        },
      },
    },
    async (request) => ok(request, await profiles.getProfile(request.actor, request.params.id)),
  );
};

import { Type } from 'typebox';
import { Email } from '../users/users.schemas.js';

export const LoginBody = Type.Object(
  {
    // The registration's format: the address is looked up and throttled in the one spelling.
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const TokenPairSchema = Type.Object({
  accessToken: Type.String({ maxLength: 4096 }),
  refreshToken: Type.String({ maxLength: 512 }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  user: Type.Object({
    id: Type.String({ format: 'uuid' }),
    email: Type.String({ maxLength: 254 }),
    role: Type.String({ maxLength: 16 }),
  }),
});

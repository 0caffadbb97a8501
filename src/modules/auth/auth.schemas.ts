import { Type } from 'typebox';

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
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

import { Type } from 'typebox';
import { Email, PASSWORD_EXAMPLE, USER_EXAMPLE } from '../users/users.schemas.js';

/** A refresh token of the examples (43 base64url characters, like a real one). */
export const REFRESH_TOKEN_EXAMPLE = 'q3Zt8Yw1mXo4Lk0vB7nR2cHs9dFj5gPa6eUiTyWxQzE';

export const LoginBody = Type.Object(
  {
    // The registration's format: the address is looked up and throttled in the one spelling.
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 128 }),
  },
  {
    additionalProperties: false,
    examples: [{ email: USER_EXAMPLE.email, password: PASSWORD_EXAMPLE }],
  },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false, examples: [{ refreshToken: REFRESH_TOKEN_EXAMPLE }] },
);

export const TOKEN_PAIR_EXAMPLE = {
  accessToken:
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTkzYTViMC03YzFlLTdkM2EtOWYwMC0xYTJiM2M0ZDVlMDEiLCJyb2xlIjoidXNlciJ9.c2lnbmF0dXJlLW9mLXRoZS1leGFtcGxlLXRva2VuLXh4eHg',
  refreshToken: 'Hb2Kp7Vd0sLq9Wm4Xc1Zr8Ny3Tf6Gj5Ae2Ui7Oo0Pk',
  tokenType: 'Bearer' as const,
  expiresIn: 900,
  user: { id: USER_EXAMPLE.id, email: USER_EXAMPLE.email, role: USER_EXAMPLE.role },
};

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

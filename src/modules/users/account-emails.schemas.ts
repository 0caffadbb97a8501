import { Type, type Static } from 'typebox';
import { Email, Password, USER_EXAMPLE } from './users.schemas.js';

/** A mailed token of the examples (43 base64url characters, like a real one). */
export const ACCOUNT_TOKEN_EXAMPLE = 'Zk3pQ9vT1wYb6Lm0Xr4Sd8Hc2Nf7Gj5Ae1Ui3Oo9PqE';

// Checked, not validated beyond its size: a wrong one gets the one answer for bad tokens.
const AccountToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The code from the email (the `token` of its link)',
});

export const TokenBody = Type.Object(
  { token: AccountToken },
  { additionalProperties: false, examples: [{ token: ACCOUNT_TOKEN_EXAMPLE }] },
);

export const ForgotPasswordBody = Type.Object(
  { email: Email },
  { additionalProperties: false, examples: [{ email: USER_EXAMPLE.email }] },
);

export const ResetPasswordBody = Type.Object(
  { token: AccountToken, password: Password },
  {
    additionalProperties: false,
    examples: [{ token: ACCOUNT_TOKEN_EXAMPLE, password: 'a brand new passphrase' }],
  },
);

export type TokenInput = Static<typeof TokenBody>;

import { Type } from 'typebox';
import { Email, Password, USER_EXAMPLE } from './users.schemas.js';

/** Tokens of the examples (43 base64url characters, like real ones), one per kind of link. */
export const VERIFY_TOKEN_EXAMPLE = 'Zk3pQ9vT1wYb6Lm0Xr4Sd8Hc2Nf7Gj5Ae1Ui3Oo9PqE';
export const RESET_TOKEN_EXAMPLE = 'Rt5mW2xK8pLq0Zc3Vb6Nd9Hf1Gj4Sa7Ey2Ui5Oo8PkA';
export const EMAIL_CHANGE_TOKEN_EXAMPLE = 'Ce7nY4tJ1qMw9Xb2Kd5Lf8Hs0Gp3Va6Rz1Ui4Oo7PmC';

// Checked, not validated beyond its size: a wrong one gets the one answer for bad tokens.
const AccountToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The code from the email (the `token` in its link)',
});

export const VerifyEmailBody = Type.Object(
  { token: AccountToken },
  { additionalProperties: false, examples: [{ token: VERIFY_TOKEN_EXAMPLE }] },
);

export const ConfirmEmailChangeBody = Type.Object(
  { token: AccountToken },
  { additionalProperties: false, examples: [{ token: EMAIL_CHANGE_TOKEN_EXAMPLE }] },
);

export const ForgotPasswordBody = Type.Object(
  { email: Email },
  { additionalProperties: false, examples: [{ email: USER_EXAMPLE.email }] },
);

export const ResetPasswordBody = Type.Object(
  { token: AccountToken, password: Password },
  {
    additionalProperties: false,
    examples: [{ token: RESET_TOKEN_EXAMPLE, password: 'a brand new passphrase' }],
  },
);

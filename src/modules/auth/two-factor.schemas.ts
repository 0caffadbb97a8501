import { Type } from 'typebox';
import { userRefSchema } from '../../platform/http/user-ref.js';
import { PASSWORD_EXAMPLE, USER_EXAMPLE } from '../users/users.schemas.js';

/** The examples' values; test/http/openapi-examples.test.ts swaps them for real ones. */
export const TOTP_SECRET_EXAMPLE = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
export const TOTP_CODE_EXAMPLE = '492039';
export const STEP_TOKEN_EXAMPLE = 'Tq3b8Yw1mXo4Lk0vB7nR2cHs9dFj5gPa6eUiTyWxQzE';
export const RECOVERY_CODE_EXAMPLE = '7QK2-M9XD-4RTA-0BHC';
export const ENROLMENT_TOKEN_EXAMPLE =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTkzYTViMC03YzFlLTdkM2EtOWYwMC0xYTJiM2M0ZDVlMDEifQ.c2lnbmF0dXJlLW9mLXRoZS1lbnJvbG1lbnQtdG9rZW4';

/** A time, written as ISO 8601; the services hand Dates, the serializer writes them. */
const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });

/** Only the account itself enrols: the examples use `me`. */
export const SelfParams = Type.Object({
  id: userRefSchema({
    description: 'The signed-in user: `me`, or their own id (only the account itself enrols)',
    examples: ['me', USER_EXAMPLE.id],
  }),
});

const Code = Type.String({
  pattern: '^[0-9]{6}$',
  maxLength: 6,
  description: 'The six digits the authenticator app shows now',
  examples: [TOTP_CODE_EXAMPLE],
});

const RecoveryCode = Type.String({
  minLength: 16,
  maxLength: 32,
  pattern: '^[0-9A-Za-z -]+$',
  description: 'One of the recovery codes given at enrolment (each works once)',
  examples: [RECOVERY_CODE_EXAMPLE],
});

export const TwoFactorStatusSchema = Type.Object({
  enabled: Type.Boolean({ description: 'Sign-in asks for a code' }),
  pending: Type.Boolean({ description: 'An enrolment waits for its first code' }),
  enabledAt: Type.Union([DateTime, Type.Null()]),
  recoveryCodesLeft: Type.Integer({ minimum: 0, description: 'Recovery codes not used yet' }),
});

export const TWO_FACTOR_STATUS_EXAMPLE = {
  enabled: true,
  pending: false,
  enabledAt: '2026-01-15T09:30:00.000Z',
  recoveryCodesLeft: 10,
};

export const TwoFactorEnrolmentSchema = Type.Object({
  secret: Type.String({ maxLength: 128, description: 'Base32, to type into the app' }),
  otpauthUri: Type.String({
    maxLength: 1024,
    description: 'The same secret as an otpauth:// URI, to show as a QR code',
  }),
  issuer: Type.String({ maxLength: 256 }),
  digits: Type.Integer(),
  period: Type.Integer({ description: 'Seconds per code' }),
  algorithm: Type.Literal('SHA1'),
});

export const TWO_FACTOR_ENROLMENT_EXAMPLE = {
  secret: TOTP_SECRET_EXAMPLE,
  otpauthUri: `otpauth://totp/Stratum:ada%40example.com?secret=${TOTP_SECRET_EXAMPLE}&issuer=Stratum`,
  issuer: 'Stratum',
  digits: 6,
  period: 30,
  algorithm: 'SHA1' as const,
};

export const ConfirmTwoFactorBody = Type.Object(
  { code: Code },
  { additionalProperties: false, examples: [{ code: TOTP_CODE_EXAMPLE }] },
);

export const TwoFactorEnabledSchema = Type.Object({
  enabledAt: DateTime,
  recoveryCodes: Type.Array(Type.String({ maxLength: 32 }), {
    maxItems: 10,
    description: 'Ten single-use codes for when the phone is lost; shown this once only',
  }),
});

export const TWO_FACTOR_ENABLED_EXAMPLE = {
  enabledAt: '2026-01-15T09:30:00.000Z',
  recoveryCodes: [
    RECOVERY_CODE_EXAMPLE,
    'H3NW-8PZC-1VQE-5KMR',
    'X0TD-6GJB-2YSA-9CFN',
    'P4RM-0WEK-7DHV-3QZT',
    'B9CX-5TNA-1MGW-8RJE',
    'E2VK-7HQD-0PXS-4NBT',
    'M6ZA-3RJF-9WCE-1KHD',
    'S8GT-4BNX-6VQM-0AEP',
    'K1DW-9XHC-5TRZ-7JMA',
    'Z5QE-2KMP-8NGB-6WXT',
  ],
};

export const DisableTwoFactorBody = Type.Object(
  {
    password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: "The account's password" }),
    ),
    code: Type.Optional(Code),
    recoveryCode: Type.Optional(RecoveryCode),
  },
  {
    additionalProperties: false,
    description:
      'The account itself gives its password and a code (or a recovery code); an admin ' +
      "turning off another account's two-factor gives nothing",
    examples: [{ password: PASSWORD_EXAMPLE, code: TOTP_CODE_EXAMPLE }],
  },
);

export const LoginTwoFactorBody = Type.Object(
  {
    stepToken: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'The stepToken login answered with',
    }),
    code: Type.Optional(Code),
    recoveryCode: Type.Optional(RecoveryCode),
  },
  {
    additionalProperties: false,
    description: 'The step token, and a code or a recovery code (exactly one of the two)',
    examples: [{ stepToken: STEP_TOKEN_EXAMPLE, code: TOTP_CODE_EXAMPLE }],
  },
);

export const TwoFactorRequiredSchema = Type.Object(
  {
    twoFactorRequired: Type.Literal(true),
    stepToken: Type.String({
      maxLength: 128,
      description: 'For POST /auth/login/two-factor with a code; not a Bearer token',
    }),
    expiresIn: Type.Integer({ description: 'seconds until the step token expires' }),
  },
  { description: 'The password was right and the account has two-factor: a code is needed' },
);

export const TWO_FACTOR_REQUIRED_EXAMPLE = {
  twoFactorRequired: true as const,
  stepToken: STEP_TOKEN_EXAMPLE,
  expiresIn: 300,
};

export const TwoFactorEnrolmentRequiredSchema = Type.Object(
  {
    twoFactorEnrolmentRequired: Type.Literal(true),
    enrolmentToken: Type.String({
      maxLength: 4096,
      description: 'A Bearer token that only the two-factor enrolment routes accept',
    }),
    expiresIn: Type.Integer({ description: 'seconds until the enrolment token expires' }),
  },
  {
    description:
      'An admin who must use two-factor (ADMIN_TWO_FACTOR=required) and has not enrolled: ' +
      'enrol with this token, then sign in again',
  },
);

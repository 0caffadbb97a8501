import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { AppError } from '../../errors.js';
import type { AdminSignIn } from './admin.js';
import { sendPage } from './html-page.js';
import {
  LOGIN_PATH,
  LOGOUT_PATH,
  loginPage,
  logoutPage,
  TWO_FACTOR_PATH,
  twoFactorPage,
} from './login-page.js';
import { clearSessionCookie, setSessionCookie } from './session-cookie.js';

// The API's login format: the email is lower-cased by the validator (its `email` format), so it
// is looked up and throttled in the one spelling.
const LoginForm = Type.Object(
  {
    email: Type.String({ format: 'email', minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

const TwoFactorForm = Type.Object(
  {
    stepToken: Type.String({ minLength: 1, maxLength: 128 }),
    code: Type.String({ minLength: 1, maxLength: 32 }),
  },
  { additionalProperties: false },
);

const FORM_TYPE = 'application/x-www-form-urlencoded';
/** An email and a password, URL-encoded, fit with room to spare. */
const FORM_LIMIT_BYTES = 4096;

const REFUSED = 'Email or password is wrong, or the account may not sign in here.';
const THROTTLED = 'Too many failed attempts. Try again later.';
const INCOMPLETE = 'Enter an email address and a password.';
const ENROL_FIRST =
  'This administrator account must use two-factor sign-in and has not enrolled yet. Sign in ' +
  'through the API (POST /api/v1/auth/login), enrol with the token it gives, then sign in here.';
const WRONG_CODE = 'The code is wrong or was already used.';
const STEP_EXPIRED = 'The sign-in took too long or was already finished. Sign in again.';

/** A six-digit code is the app's; anything else is taken for a recovery code. */
const factorOf = (code: string) =>
  /^\s*\d{6}\s*$/.test(code) ? { code: code.trim() } : { recoveryCode: code.trim() };

/**
 * GET /admin/login (the form), POST /admin/login (a session cookie, then the dashboard; or, for
 * an account with two-factor, the code form), POST /admin/login/two-factor (the code or a
 * recovery code, then the cookie), GET /admin/logout (a confirm button) and POST /admin/logout.
 * The forms post URL-encoded, as HTML forms do: parsed here only, the rest of the app takes
 * JSON alone.
 */
export async function loginRoutes(
  scope: FastifyInstance,
  options: { signIn: AdminSignIn; home: string },
) {
  const { signIn, home } = options;
  scope.addContentTypeParser(
    FORM_TYPE,
    { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  scope.get(LOGIN_PATH, { schema: { hide: true } }, async (_request, reply) =>
    sendPage(reply, 200, loginPage()),
  );

  scope.post(
    LOGIN_PATH,
    // A malformed form is shown again, not answered in JSON: a person filled it in.
    { schema: { hide: true, body: LoginForm }, attachValidation: true },
    async (request, reply) => {
      if (request.validationError) return sendPage(reply, 400, loginPage({ error: INCOMPLETE }));
      const { email, password } = request.body as Static<typeof LoginForm>;
      try {
        const grant = await signIn.loginFor(request.actor, { email, password }, 'manage:queues');
        if ('twoFactorRequired' in grant) {
          return sendPage(reply, 200, twoFactorPage({ stepToken: grant.stepToken }));
        }
        setSessionCookie(request, reply, grant.accessToken, grant.expiresIn);
        // 303: the browser follows with a GET, and a reload doesn't post the password again.
        return reply.redirect(home, 303);
      } catch (err) {
        if (err instanceof AppError && err.code === 'TWO_FACTOR_ENROLMENT_REQUIRED') {
          return sendPage(reply, 403, loginPage({ error: ENROL_FIRST, email }));
        }
        if (!(err instanceof AppError) || (err.statusCode !== 401 && err.statusCode !== 429)) {
          throw err;
        }
        const retryAfter = err.headers?.['retry-after'];
        if (retryAfter) void reply.header('retry-after', retryAfter);
        const error = err.statusCode === 429 ? THROTTLED : REFUSED;
        return sendPage(reply, err.statusCode, loginPage({ error, email }));
      }
    },
  );

  scope.post(
    TWO_FACTOR_PATH,
    { schema: { hide: true, body: TwoFactorForm }, attachValidation: true },
    async (request, reply) => {
      if (request.validationError) {
        return sendPage(reply, 400, loginPage({ error: STEP_EXPIRED }));
      }
      const { stepToken, code } = request.body as Static<typeof TwoFactorForm>;
      try {
        const grant = await signIn.loginForWithSecondFactor(
          request.actor,
          stepToken,
          factorOf(code),
          'manage:queues',
        );
        setSessionCookie(request, reply, grant.accessToken, grant.expiresIn);
        return reply.redirect(home, 303);
      } catch (err) {
        if (!(err instanceof AppError) || (err.statusCode !== 401 && err.statusCode !== 429)) {
          throw err;
        }
        const retryAfter = err.headers?.['retry-after'];
        if (retryAfter) void reply.header('retry-after', retryAfter);
        if (err.code === 'INVALID_TOKEN' || err.code === 'TOKEN_EXPIRED') {
          return sendPage(reply, 401, loginPage({ error: STEP_EXPIRED }));
        }
        if (err.code === 'INVALID_CREDENTIALS') {
          return sendPage(reply, 401, loginPage({ error: REFUSED }));
        }
        const error = err.statusCode === 429 ? THROTTLED : WRONG_CODE;
        return sendPage(reply, err.statusCode, twoFactorPage({ stepToken, error }));
      }
    },
  );

  scope.get(LOGOUT_PATH, { schema: { hide: true } }, async (_request, reply) =>
    sendPage(reply, 200, logoutPage()),
  );

  // Ends the session as the API's logout does (the family and this access token on the deny
  // list), so the cookie, and any copy of it, stops working everywhere at once.
  scope.post(LOGOUT_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (request.actor.userId !== null) await signIn.logout(request.actor);
    clearSessionCookie(request, reply);
    return reply.redirect(LOGIN_PATH, 303);
  });
}

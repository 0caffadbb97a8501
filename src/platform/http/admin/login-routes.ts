import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { AppError } from '../../errors.js';
import type { AdminSignIn } from './admin.js';
import { sendPage } from './html-page.js';
import { LOGIN_PATH, LOGOUT_PATH, loginPage, logoutPage } from './login-page.js';
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

const FORM_TYPE = 'application/x-www-form-urlencoded';
/** An email and a password, URL-encoded, fit with room to spare. */
const FORM_LIMIT_BYTES = 4096;

const REFUSED = 'Email or password is wrong, or the account may not sign in here.';
const THROTTLED = 'Too many failed attempts. Try again later.';
const INCOMPLETE = 'Enter an email address and a password.';

/**
 * GET /admin/login (the form), POST /admin/login (a session cookie, then the dashboard),
 * GET /admin/logout (a confirm button) and POST /admin/logout. The form posts URL-encoded, as
 * HTML forms do: parsed here only, the rest of the app takes JSON alone.
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
        setSessionCookie(request, reply, grant.accessToken, grant.expiresIn);
        // 303: the browser follows with a GET, and a reload doesn't post the password again.
        return reply.redirect(home, 303);
      } catch (err) {
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

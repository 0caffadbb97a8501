import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { JobPayloads } from '../jobs.js';
import { AccountsRepository } from '../modules/accounts/accounts.repository.js';
import { AccountsService } from '../modules/accounts/accounts.service.js';
import { HoldsRepository } from '../modules/accounts/holds.repository.js';
import { HoldsService } from '../modules/accounts/holds.service.js';
import { AuthService } from '../modules/auth/auth.service.js';
import { PostgresSessionsRepository } from '../modules/auth/sessions.repository.js';
import { SessionsService } from '../modules/auth/sessions.service.js';
import { TwoFactorRepository } from '../modules/auth/two-factor.repository.js';
import { TwoFactorService } from '../modules/auth/two-factor.service.js';
import { OidcRepository } from '../modules/auth/oidc.repository.js';
import { OidcService } from '../modules/auth/oidc.service.js';
import { OrdersRepository } from '../modules/orders/orders.repository.js';
import { OrdersService } from '../modules/orders/orders.service.js';
import { PostgresPostsRepository } from '../modules/posts/posts.repository.js';
import { PostsService } from '../modules/posts/posts.service.js';
import { productCache } from '../modules/products/products.caches.js';
import { PostgresProductsRepository } from '../modules/products/products.repository.js';
import { ProductsService } from '../modules/products/products.service.js';
import { SecurityEventsRepository } from '../modules/security/security.repository.js';
import { SecurityEventsService } from '../modules/security/security.service.js';
import { PostgresProfilesRepository } from '../modules/users/profiles.repository.js';
import { ProfilesService } from '../modules/users/profiles.service.js';
import { AccountEmailsService } from '../modules/users/account-emails.service.js';
import { AccountLinks } from '../modules/users/account-links.js';
import { AccountTokensRepository } from '../modules/users/account-tokens.repository.js';
import { userByIdCache } from '../modules/users/users.caches.js';
import { PostgresUsersRepository } from '../modules/users/users.repository.js';
import { UsersService, type AdminBootstrap } from '../modules/users/users.service.js';
import { LoginThrottle } from '../platform/auth/login-throttle.js';
import { Argon2PasswordHasher } from '../platform/auth/passwords.js';
import { EnrolmentTokens } from '../platform/auth/enrolment-tokens.js';
import { SealedSecrets } from '../platform/auth/sealed-secrets.js';
import { AccessTokens } from '../platform/auth/tokens.js';
import { OidcClient } from '../platform/auth/oidc-client.js';
import { PostgresSecurityLog } from '../platform/audit/postgres-security-log.js';
import { pruneSecurityEvents } from '../platform/audit/prune.js';
import type { SecurityLog } from '../platform/audit/security-log.js';
import type { Database } from '../platform/db/database.js';
import { IdempotencyKeys } from '../platform/idempotency/idempotency.js';
import { IdempotencyKeysRepository } from '../platform/idempotency/keys.repository.js';
import { OutboxRepository } from '../platform/jobs/outbox.repository.js';
import { OutboxScheduler } from '../platform/jobs/outbox.js';
import type { RetentionRule } from '../platform/jobs/pruner.js';
import { pruneDeliveries } from '../platform/mail/deliveries.js';
import type { Dependencies } from './dependencies.js';

export function buildServices(config: Config, deps: Dependencies) {
  const { db } = deps.database;
  const securityLog: SecurityLog = new PostgresSecurityLog(db);
  const tokens = new AccessTokens({
    secret: deps.signingKey,
    algorithm: config.jwtAlgorithm,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTtlMs: config.jwtAccessTtlMs,
    clockSkewMs: config.jwtClockSkewMs,
  });
  const sessions = new SessionsService(
    db,
    new PostgresSessionsRepository(db),
    deps.revocations,
    config.jwtRefreshTtlMs,
    config.jwtAccessTtlMs + config.jwtClockSkewMs,
    config.jwtRefreshReuseGraceMs,
    securityLog,
  );
  const cacheSettings = { ttlMs: config.cacheUserTtlMs, negativeTtlMs: config.cacheNegativeTtlMs };
  const profiles = new ProfilesService(new PostgresProfilesRepository(db));
  const posts = new PostsService(
    db,
    new PostgresPostsRepository(db),
    deps.viewCounters,
    (actor, id) => profiles.exists(actor, id),
    config.searchRankLimit,
    deps.replicaReads.replicaSafe((on) => new PostgresPostsRepository(on)),
  );
  const accountsRepository = new AccountsRepository(db);
  const accounts = new AccountsService(
    db,
    accountsRepository,
    config.defaultCurrency,
    config.requireVerifiedEmail,
    { max: config.moneyBatchMax, waitUs: config.moneyBatchWaitUs },
  );
  const holds = new HoldsService(new HoldsRepository(db), accountsRepository, accounts);
  const attempts = new LoginThrottle(deps.loginAttempts, {
    maxPerAddress: config.loginMaxFailures,
    maxPerAccount: config.loginAccountMaxFailures,
    windowMs: config.loginWindowMs,
    familiarMs: config.loginFamiliarTtlMs,
  });
  const usersRepository = new PostgresUsersRepository(db);
  const passwords = new Argon2PasswordHasher();
  const usersById = userByIdCache(deps.cache, cacheSettings);
  const jobs = new OutboxScheduler<JobPayloads>(new OutboxRepository(db));
  const accountEmails = new AccountEmailsService(
    db,
    usersRepository,
    new AccountTokensRepository(db),
    passwords,
    sessions,
    jobs,
    usersById,
    // The login throttle's store, under its own keys, with the ACCOUNT_EMAIL_* budgets.
    new LoginThrottle(deps.loginAttempts, {
      maxPerAddress: config.accountEmailMaxRequests,
      maxPerAccount: config.accountEmailAccountMaxRequests,
      windowMs: config.accountEmailWindowMs,
      familiarMs: config.accountEmailWindowMs,
    }),
    securityLog,
  );
  const users = new UsersService(
    db,
    usersRepository,
    passwords,
    sessions,
    attempts,
    usersById,
    securityLog,
    (tx, user) => accounts.openWallet(tx, user.id),
    accountEmails,
    deps.replicaReads.replicaSafe((on) => new PostgresUsersRepository(on)),
  );
  const idempotency = new IdempotencyKeys(
    new IdempotencyKeysRepository(db),
    config.idempotencyKeyTtlMs,
  );
  const twoFactor = new TwoFactorService(
    db,
    new TwoFactorRepository(db),
    users,
    attempts,
    new SealedSecrets(deps.signingKey, 'stratum:two-factor-secret:v1'),
    securityLog,
    {
      issuer: config.twoFactorIssuer,
      window: config.twoFactorWindow,
      stepTtlMs: config.twoFactorStepTtlMs,
      adminRequired: config.adminTwoFactor === 'required',
    },
  );
  const enrolmentTokens = new EnrolmentTokens(
    {
      secret: deps.signingKey,
      algorithm: config.jwtAlgorithm,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
    },
    config.twoFactorStepTtlMs,
  );
  const auth = new AuthService(
    jobs,
    users,
    sessions,
    tokens,
    config.jwtAccessTtlMs,
    securityLog,
    twoFactor,
    enrolmentTokens,
    accountEmails,
  );
  const oidc = new OidcService(
    db,
    new OidcRepository(db),
    oidcClient(config),
    users,
    auth,
    securityLog,
    jobs,
  );
  const products = new ProductsService(
    new PostgresProductsRepository(db),
    productCache(deps.cache, cacheSettings),
    deps.replicaReads.replicaSafe((on) => new PostgresProductsRepository(on)),
  );
  const orders = new OrdersService(db, new OrdersRepository(db), accounts, products, users, jobs);
  const securityEvents = new SecurityEventsService(new SecurityEventsRepository(db));
  return {
    securityLog,
    securityEvents,
    tokens,
    enrolmentTokens,
    twoFactor,
    sessions,
    users,
    profiles,
    posts,
    auth,
    accountEmails,
    oidc,
    jobs,
    accounts,
    holds,
    idempotency,
    products,
    orders,
  };
}

export type Services = ReturnType<typeof buildServices>;

/** The OpenID provider's client when OIDC_* is set (config checks they come all together). */
function oidcClient(config: Config): OidcClient | undefined {
  const { oidcIssuer, oidcClientId, oidcClientSecret, oidcRedirectUri, oidcScopes } = config;
  if (!oidcIssuer || !oidcClientId || !oidcClientSecret || !oidcRedirectUri) return undefined;
  return new OidcClient({
    issuer: oidcIssuer,
    clientId: oidcClientId,
    clientSecret: oidcClientSecret,
    redirectUri: oidcRedirectUri,
    scopes: oidcScopes,
  });
}

/** Which finished bookkeeping rows the pruner deletes, and after how long. */
export function retentionRules(config: Config, db: Database): RetentionRule[] {
  const outbox = new OutboxRepository(db);
  const posts = new PostgresPostsRepository(db);
  const idempotencyKeys = new IdempotencyKeysRepository(db);
  const sessions = new PostgresSessionsRepository(db);
  const { outboxRetentionMs, deliveryRetentionMs, viewFlushRetentionMs } = config;
  const { securityLogRetentionMs } = config;
  return [
    { table: 'outbox', pruneBatch: (n) => outbox.pruneFinished(outboxRetentionMs, n) },
    { table: 'deliveries', pruneBatch: (n) => pruneDeliveries(db, deliveryRetentionMs, n) },
    {
      table: 'view_flushes',
      pruneBatch: (n) => posts.pruneAppliedBatches(viewFlushRetentionMs, n),
    },
    // Expired keys (IDEMPOTENCY_KEY_TTL) can't replay any more: a new use takes them over.
    { table: 'idempotency_keys', pruneBatch: (n) => idempotencyKeys.deleteExpired(n) },
    // A spent refresh token's sealed successor is of use only within the reuse grace.
    { table: 'refresh_tokens', pruneBatch: (n) => sessions.clearStaleSuccessors(n) },
    // Ended and expired sessions (SESSION_RETENTION), their refresh tokens with them.
    { table: 'sessions', pruneBatch: (n) => sessions.pruneEnded(config.sessionRetentionMs, n) },
    { table: 'sessions', pruneBatch: (n) => sessions.pruneExpired(config.sessionRetentionMs, n) },
    // Spent refresh tokens of live sessions once past their own expiry (docs/accounts/sessions.md).
    { table: 'refresh_tokens', pruneBatch: (n) => sessions.pruneSpentTokens(n) },
    // Spent or expired one-time tokens (mailed links) can do nothing any more.
    { table: 'account_tokens', pruneBatch: (n) => new AccountTokensRepository(db).prune(n) },
    // OpenID sign-ins a day past their expiry: spent or abandoned, they can't be completed.
    { table: 'oidc_logins', pruneBatch: (n) => new OidcRepository(db).pruneExpired(n) },
    // The oldest part of each chain; what it ended on stays as the chain's anchor.
    {
      table: 'security_events',
      pruneBatch: (n) => pruneSecurityEvents(db, securityLogRetentionMs, n),
    },
    // A two-factor step token past its lifetime opens nothing.
    {
      table: 'two_factor_challenges',
      pruneBatch: (n) => new TwoFactorRepository(db).pruneChallenges(n),
    },
  ];
}

/** What mints the one-time links the account emails carry (their jobs' tool). */
export function accountLinks(config: Config, db: Database): AccountLinks {
  return new AccountLinks(new AccountTokensRepository(db), {
    baseUrl: config.publicWebUrl,
    ttlMs: {
      'verify-email': config.emailVerificationTtlMs,
      'reset-password': config.passwordResetTtlMs,
      'change-email': config.emailChangeTtlMs,
    },
  });
}

/** What the ADMIN_EMAIL bootstrap did, or why it did nothing: an operator must be able to tell. */
function logAdminBootstrap(log: FastifyBaseLogger, email: string, result: AdminBootstrap) {
  switch (result.outcome) {
    case 'created':
      log.info({ userId: result.user.id }, `admin bootstrap: created the admin ${email}`);
      break;
    case 'admin-exists':
      log.info('admin bootstrap: an active admin exists; ADMIN_EMAIL was not used');
      break;
    case 'address-taken':
      log.warn(
        { userId: result.user.id },
        `admin bootstrap: ${email} belongs to an existing ${result.user.role} account, which ` +
          'was not promoted; promote it with `npm run user:create -- --email <it> --role admin`',
      );
      break;
  }
}

/** The ADMIN_EMAIL bootstrap, when ADMIN_EMAIL and ADMIN_PASSWORD are set. */
export async function bootstrapAdmin(config: Config, services: Services, log: FastifyBaseLogger) {
  if (config.adminEmail && config.adminPassword) {
    const bootstrap = await services.users.ensureAdmin(config.adminEmail, config.adminPassword);
    logAdminBootstrap(log, config.adminEmail, bootstrap);
  }
}

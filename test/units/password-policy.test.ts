import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  checkPasswordPolicy,
  loadCommonPasswords,
  readCommonPasswords,
  WeakPasswordError,
} from '../../src/platform/auth/password-policy.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../src/platform/auth/passwords.js';
import { AppError } from '../../src/platform/errors.js';

const passphrase = 'tundra violin marmalade quorum 47';

describe('password policy: common passwords', () => {
  for (const password of ['password', '12345678', 'Password1', 'qwertyuiop', 'PASSWORD1']) {
    it(`when the password is '${password}', then it is refused as common`, () => {
      assert.deepEqual(checkPasswordPolicy(password, {}), { reason: 'common' });
    });
  }

  it('when a common password is typed in full-width letters, then it is still refused', () => {
    assert.deepEqual(checkPasswordPolicy('ｐａｓｓｗｏｒｄ１', {}), { reason: 'common' });
  });

  it('when the password is a long random passphrase, then it is accepted', () => {
    assert.equal(
      checkPasswordPolicy(passphrase, { email: 'ada@example.com', name: 'Ada' }),
      undefined,
    );
  });

  // The passwords the rest of the suite signs up with must stay acceptable once the service
  // applies this policy, or those tests would fail for a reason they don't test.
  const suitePasswords = [
    'correct horse battery',
    'first admin password',
    'registered password',
    'long enough password',
    'long enough pw',
    'a new password',
    'a brand new password',
    'cluster admin password',
    'fault test admin password',
  ];
  it('when the passwords used across the test suite are checked, then none is in the list', () => {
    const common = loadCommonPasswords();
    assert.deepEqual(
      suitePasswords.filter((password) => common.has(password)),
      [],
    );
  });
});

describe('password policy: the shipped list', () => {
  const common = loadCommonPasswords();

  it('when the list is loaded, then it has at least the 3,000 entries ASVS asks for', () => {
    assert.ok(common.size >= 3_000, `only ${common.size} entries`);
  });

  it('when the list is loaded, then every entry meets the length policy', () => {
    const outside = [...common].filter((entry) => {
      const length = [...entry].length;
      return length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH;
    });
    assert.deepEqual(outside, []);
  });

  it('when the list is loaded, then every entry is lower-cased and NFKC-normalised', () => {
    const unnormalised = [...common].filter(
      (entry) => entry !== entry.normalize('NFKC').toLowerCase(),
    );
    assert.deepEqual(unnormalised, []);
  });

  it('when the list is loaded twice, then it is read once and the same set is returned', () => {
    assert.equal(loadCommonPasswords(), common);
  });
});

describe('password policy: reading a list file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'password-policy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('when the file is missing, then reading it throws an error naming the path', () => {
    const missing = join(dir, 'no-such-list.txt');
    assert.throws(
      () => readCommonPasswords(pathToFileURL(missing)),
      (err: unknown) => err instanceof Error && err.message.includes(missing),
    );
  });

  it('when the file holds too few entries, then reading it throws rather than accept all', () => {
    const file = join(dir, 'short.txt');
    writeFileSync(file, 'password\n12345678\n');
    assert.throws(() => readCommonPasswords(pathToFileURL(file)), /has 2 entries/);
  });

  it('when the file has comment and blank lines, then only the passwords are kept, folded', () => {
    const file = join(dir, 'list.txt');
    const entries = Array.from({ length: 3_000 }, (_, i) => `entry${String(i).padStart(5, '0')}`);
    writeFileSync(file, `# a header\n\n${entries.join('\r\n')}\nMixedCase99\n`);
    const list = readCommonPasswords(pathToFileURL(file));
    assert.equal(list.size, 3_001);
    assert.ok(list.has('mixedcase99'));
    assert.ok(![...list].some((entry) => entry.startsWith('#') || entry === ''));
  });
});

describe('password policy: the email address', () => {
  const email = 'marguerite.dupont@example.com';

  it('when the password is the email address, then it is refused', () => {
    assert.deepEqual(checkPasswordPolicy(email, { email }), { reason: 'email' });
  });

  it('when the password is the email address in upper case, then it is refused', () => {
    assert.deepEqual(checkPasswordPolicy(email.toUpperCase(), { email }), { reason: 'email' });
  });

  it('when the password contains the email address, then it is refused', () => {
    assert.deepEqual(checkPasswordPolicy(`my ${email} pass`, { email }), { reason: 'email' });
  });

  it('when the password contains the local part, then it is refused', () => {
    assert.deepEqual(checkPasswordPolicy('Marguerite.Dupont!2024', { email }), {
      reason: 'email',
    });
  });

  it('when the local part is shorter than 4 characters, then passwords containing it pass', () => {
    assert.equal(checkPasswordPolicy('abstract lunar teapot', { email: 'ab@x.io' }), undefined);
  });

  it('when the password does not contain the email or its local part, then it is accepted', () => {
    assert.equal(checkPasswordPolicy(passphrase, { email }), undefined);
  });
});

describe('password policy: the name', () => {
  it('when the password equals the name, whatever its case, then it is refused', () => {
    assert.deepEqual(checkPasswordPolicy('marguerite dupont', { name: 'Marguerite Dupont' }), {
      reason: 'name',
    });
  });

  it('when the name is shorter than 4 characters, then the name rule does not apply', () => {
    assert.equal(checkPasswordPolicy('Bob', { name: 'Bob' }), undefined);
  });

  it('when the password only contains the name, then the name rule does not refuse it', () => {
    assert.equal(
      checkPasswordPolicy(`Marguerite ${passphrase}`, { name: 'Marguerite' }),
      undefined,
    );
  });
});

describe('WeakPasswordError', () => {
  const cases = [
    ['common', 'This password is too common; choose another'],
    ['email', 'The password must not contain your email address'],
    ['name', 'The password must not be your name'],
  ] as const;
  for (const [reason, message] of cases) {
    it(`when the reason is '${reason}', then it is a 400 WEAK_PASSWORD AppError with that reason`, () => {
      const err = new WeakPasswordError({ reason });
      assert.ok(err instanceof AppError);
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'WEAK_PASSWORD');
      assert.equal(err.message, message);
      assert.deepEqual(err.details, { reason });
      assert.equal(err.name, 'WeakPasswordError');
    });
  }
});

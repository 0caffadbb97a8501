import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { welcomeEmail } from '../../../src/modules/users/welcome-email.js';

describe('the welcome email', () => {
  it('when the name holds HTML, then the HTML part escapes it and the text keeps it', () => {
    const mail = welcomeEmail({
      userId: 'u',
      email: 'x@example.com',
      name: '<script>alert("x")</script> & Co',
    });
    assert.ok(!mail.html.includes('<script>'));
    assert.ok(mail.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co'));
    assert.ok(mail.text.includes('<script>alert("x")</script> & Co'));
    assert.equal(mail.to, 'x@example.com');
  });
});

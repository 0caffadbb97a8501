-- Emails are kept in the one spelling the API accepts them in: lower case (they are ASCII, as
-- the email format allows, so lower() here and in JavaScript agree). users_email_lower_key
-- already allowed one account per address whatever its case, so no two rows collide.
UPDATE users SET email = lower(email) WHERE email <> lower(email);

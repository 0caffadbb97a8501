CREATE TABLE users (
  id         uuid PRIMARY KEY,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  email      text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  role       text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user', 'guest')),
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One account per address whatever its case; also serves the lookup by email.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- The list of active users, newest first, without visiting suspended rows.
CREATE INDEX users_active_created_idx ON users (created_at DESC, id DESC) WHERE status = 'active';

-- The unfiltered list in its default order.
CREATE INDEX users_created_idx ON users (created_at DESC, id DESC);

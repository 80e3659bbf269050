-- Addresses each account has signed in from. Failed sign-ins throttle the address they come from
-- for that account; an address the owner has signed in from keeps its own budget when the
-- account as a whole is being guessed at from elsewhere.
CREATE TABLE login_addresses (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    last_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client)
);
CREATE INDEX login_failures_pair ON login_failures(username, client, at);

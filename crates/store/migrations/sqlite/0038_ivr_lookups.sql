-- issue 27 (collect): a person's phone PIN for the IVR (a sales rep keys it to hear their month),
-- kept as an argon2 hash like passwords; NULL: no PIN set. And what the IVR's look-ups answered on
-- a call (JSON list: look-up, number keyed (never a PIN), outcome, fragments played).
ALTER TABLE users ADD COLUMN phone_pin_hash TEXT;
ALTER TABLE phone_calls ADD COLUMN lookups TEXT NOT NULL DEFAULT '[]';

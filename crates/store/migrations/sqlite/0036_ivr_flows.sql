-- issue 27: IVR flows an admin changes in the interface. Every save is a new version; the newest
-- version of a number is the flow the call service runs, older ones are kept to look back on.
CREATE TABLE ivr_flows (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- The flow file as the admin wrote it (checked by Flow::parse before it is stored).
    toml TEXT NOT NULL,
    saved_by INTEGER REFERENCES users(id),
    saved_at TEXT NOT NULL,
    UNIQUE (number, version)
);

-- Import speed (issue 3): a number is indexed once. lead_phones_unique already indexes every
-- number that is not a recorded collision (nearly all of them); lead_phones_e164 indexed every
-- number again, a second index in random order that each import batch rewrote all over
-- (a 1M-row import took 16.0-17.0 s without it against 18.6-19.0 s). The few collision rows get
-- an index of their own, and the do-not-call triggers, the only look-ups of a number that want
-- collision rows too, ask both.
CREATE INDEX lead_phones_collided ON lead_phones(e164) WHERE collision_with IS NOT NULL;
DROP INDEX lead_phones_e164;
DROP TRIGGER dnc_numbers_mark;
DROP TRIGGER dnc_numbers_unmark;
CREATE TRIGGER dnc_numbers_mark AFTER INSERT ON dnc_numbers BEGIN
    UPDATE leads SET dnc = TRUE
        WHERE id IN (SELECT lead_id FROM lead_phones WHERE e164 = NEW.e164 AND collision_with IS NULL
                     UNION ALL
                     SELECT lead_id FROM lead_phones WHERE e164 = NEW.e164 AND collision_with IS NOT NULL)
          AND dnc = FALSE;
END;
CREATE TRIGGER dnc_numbers_unmark AFTER DELETE ON dnc_numbers BEGIN
    UPDATE leads SET dnc = EXISTS (SELECT 1 FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = leads.id)
        WHERE id IN (SELECT lead_id FROM lead_phones WHERE e164 = OLD.e164 AND collision_with IS NULL
                     UNION ALL
                     SELECT lead_id FROM lead_phones WHERE e164 = OLD.e164 AND collision_with IS NOT NULL);
END;

-- Import speed (issue 3): a number is indexed once. lead_phones_unique already indexes every
-- number that is not a recorded collision (nearly all of them); lead_phones_e164 indexed every
-- number again. The few collision rows get an index of their own, and the do-not-call triggers,
-- the only look-ups of a number that want collision rows too, ask both.
CREATE INDEX lead_phones_collided ON lead_phones(e164) WHERE collision_with IS NOT NULL;
DROP INDEX lead_phones_e164;
CREATE OR REPLACE FUNCTION dnc_numbers_marks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE leads l SET dnc = TRUE
            WHERE l.dnc = FALSE AND l.id IN (
                SELECT p.lead_id FROM new_rows n JOIN lead_phones p ON p.e164 = n.e164 AND p.collision_with IS NULL
                UNION ALL
                SELECT p.lead_id FROM new_rows n JOIN lead_phones p ON p.e164 = n.e164 AND p.collision_with IS NOT NULL);
    ELSE
        UPDATE leads l SET dnc = EXISTS (SELECT 1 FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = l.id)
            WHERE l.id IN (
                SELECT p.lead_id FROM old_rows o JOIN lead_phones p ON p.e164 = o.e164 AND p.collision_with IS NULL
                UNION ALL
                SELECT p.lead_id FROM old_rows o JOIN lead_phones p ON p.e164 = o.e164 AND p.collision_with IS NOT NULL);
    END IF;
    RETURN NULL;
END $$;

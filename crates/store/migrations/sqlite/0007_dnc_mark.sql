-- Next-call speed (issue 4): a lead with a number on the do-not-call list is marked on the lead
-- itself, and the fresh-lead pick's index leaves it out. Such a lead keeps its place at the head
-- of the fresh-lead order for good (nobody may call it), and every pick used to look all of them
-- up in the list again: 70 of them ahead of the first callable lead made a pick cost 100 µs,
-- more as the day went on. Triggers on the list keep the mark when the list changes; the code that
-- writes a lead's numbers sets it (a trigger on lead_phones would give every insert a statement
-- journal: 100k single-row inserts took 8.0 s instead of 3.8 s, and an import's batches several
-- times longer). The picks still check the list itself for the lead they serve.
ALTER TABLE leads ADD COLUMN dnc BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE leads SET dnc = TRUE
    WHERE id IN (SELECT p.lead_id FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164);

CREATE TRIGGER dnc_numbers_mark AFTER INSERT ON dnc_numbers BEGIN
    UPDATE leads SET dnc = TRUE
        WHERE id IN (SELECT lead_id FROM lead_phones WHERE e164 = NEW.e164) AND dnc = FALSE;
END;
CREATE TRIGGER dnc_numbers_unmark AFTER DELETE ON dnc_numbers BEGIN
    UPDATE leads SET dnc = EXISTS (SELECT 1 FROM lead_phones p JOIN dnc_numbers d ON d.e164 = p.e164 WHERE p.lead_id = leads.id)
        WHERE id IN (SELECT lead_id FROM lead_phones WHERE e164 = OLD.e164);
END;

DROP INDEX leads_fresh_pick;
CREATE INDEX leads_fresh_pick ON leads(priority DESC, id, status, owner_id, reserved_until, reserved_by, attempts, timezone, deleted_at)
    WHERE status = 'new' AND deleted_at IS NULL AND dnc = FALSE;

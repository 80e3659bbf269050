-- Import speed (issue 3): a lead brought in by an import names its import here, and its history
-- shows "imported by <who>, <when>" from that import (store::audit::history), instead of an
-- audit row per imported lead that copied every field the lead row already holds (a third of a
-- 1M-lead database, and a tenth of the import's time). The import job row keeps who imported
-- which file and when; later changes to the lead are audited as before. Leads imported before
-- this migration keep their own audit rows and no import here.
ALTER TABLE leads ADD COLUMN import_id BIGINT REFERENCES imports(id);

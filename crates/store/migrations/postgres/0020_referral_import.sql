-- Referrals on import (issue 22): new records an import gave to the owner of the existing
-- customer who referred them (老客户带来的新客户仍属于原销售人员).
ALTER TABLE imports ADD COLUMN referred BIGINT NOT NULL DEFAULT 0;

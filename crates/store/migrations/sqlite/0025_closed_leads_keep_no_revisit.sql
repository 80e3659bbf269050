-- issue 25: a closed lead (qualified, converted, invalid number, do not call) is never served
-- again, so a revisit left on it stayed due in 待回访 and the overdue list for good. The write
-- paths now clear it on closing; this clears the ones already left behind.
UPDATE leads SET next_revisit_at = NULL, revisit_agent_id = NULL
WHERE next_revisit_at IS NOT NULL
  AND status IN ('invalid_number', 'do_not_call', 'converted', 'qualified');

//! Referrals an import's rows name (a 推荐人 / 介绍人 column, issue 22: 老客户带来的新客户仍属于
//! 原销售人员): noted while a batch is read, found with one look-up per batch on the reading
//! thread, and applied before the batch goes to the writer, so that the writers stay
//! set-based and only carry each row's owner and referrer.
//!
//! A row whose referrer is not found is refused with a reason in the error report, not imported
//! unreferred: imported, it would go to the import's assignment, and the customer of the
//! colleague who was meant to have it would be given to someone else (a 撞单 with a pay
//! deduction attached); refused, the floor fixes the phone, or imports the referring customer
//! first, and imports the row again, as for an unknown owner. A referrer found in a pool is
//! recorded and the row keeps its assignment. A referrer later in the same file is not found:
//! the file is read in batches, each looked up against what is stored.

use std::collections::HashMap;

use leadline_domain::Viewer;
use leadline_domain::import_plan::{Reason, Referral, row_reason};
use leadline_store::imports::BatchRow;
use leadline_store::ownership::people::referral;
use leadline_store::{Db, StoreError};

/// Why a row naming a referrer nobody holds was refused.
pub const REFERRER_NOT_FOUND: Reason = (
    "推荐人不存在（请填写已有老客户的电话或 #编号）",
    "no existing customer with that phone or number (give the referring customer's phone or \
     #number)",
);

/// Finds referrers for the reading thread (a blocking thread of the runtime).
pub(crate) struct Lookup {
    pub db: Db,
    /// The importer: a `#number` finds only a lead they may see.
    pub viewer: Viewer,
    pub runtime: tokio::runtime::Handle,
}

impl Lookup {
    fn find(&self, cells: &[String]) -> Result<HashMap<String, Referral>, StoreError> {
        self.runtime
            .block_on(referral::find_for_import(&self.db, &self.viewer, cells))
    }
}

/// The rows of the batch being read that name a referrer.
#[derive(Default)]
pub(crate) struct Noted {
    /// (index in the batch, the cell as written, row number, the row's cells).
    rows: Vec<(usize, String, i64, Vec<String>)>,
}

impl Noted {
    /// Notes that the lead row at `index` names `cell` as its referrer.
    pub fn note(&mut self, index: usize, cell: &str, number: i64, cells: Vec<String>) {
        self.rows
            .push((index, cell.trim().to_string(), number, cells));
    }

    /// Looks the noted referrers up at once and applies them to `rows`: a found referrer's
    /// owner takes the row, an unknown one refuses it. Empties the notes.
    pub fn apply(&mut self, lookup: &Lookup, rows: &mut [BatchRow]) -> Result<(), StoreError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut cells: Vec<String> = self.rows.iter().map(|r| r.1.clone()).collect();
        cells.sort_unstable();
        cells.dedup();
        let found = lookup.find(&cells)?;
        for (index, cell, number, row_cells) in self.rows.drain(..) {
            let row = std::mem::replace(
                &mut rows[index],
                BatchRow::Invalid {
                    number,
                    cells: Vec::new(),
                    reason: String::new(),
                },
            );
            rows[index] = match found.get(&cell) {
                Some(by) => row.referred(*by),
                None => BatchRow::Invalid {
                    number,
                    cells: row_cells,
                    reason: row_reason(number, REFERRER_NOT_FOUND.0, REFERRER_NOT_FOUND.1),
                },
            };
        }
        Ok(())
    }
}

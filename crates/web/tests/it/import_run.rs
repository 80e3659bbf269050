//! The import engine itself (the code path behind the command line, the page and the API): each
//! kind of file offices produce, duplicates within the file and against stored leads under each
//! policy, each way of assigning owners, repeat runs, refused rows and limits.

use std::path::{Path, PathBuf};

use leadline_domain::UserId;
use leadline_engine::import_run::{self, Assign, ImportOptions, RunError};
use leadline_import::{Mapping, Target};
use leadline_store::db::test_db::TestDb;
use leadline_store::imports::{self, ImportJob, OnDuplicate};
use leadline_store::{Db, db_run};

use crate::helpers::{Org, seed_org};

struct Fixture {
    tdb: TestDb,
    org: Org,
    dir: PathBuf,
}

impl Fixture {
    async fn new() -> Fixture {
        let tdb = TestDb::fresh().await.unwrap();
        let org = seed_org(&tdb.db).await;
        let dir = std::env::temp_dir().join(format!(
            "leadline-import-run-{}-{}",
            std::process::id(),
            &leadline_store::auth::random_secret()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Fixture { tdb, org, dir }
    }

    fn db(&self) -> &Db {
        &self.tdb.db
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Imports with the guessed mapping.
    async fn import(&self, path: &Path, policy: OnDuplicate, assign: Assign) -> ImportJob {
        let job = self.start(path, policy, assign).await.unwrap();
        import_run::run(self.db(), job.id, |_| {}).await.unwrap()
    }

    async fn start(
        &self,
        path: &Path,
        policy: OnDuplicate,
        assign: Assign,
    ) -> Result<ImportJob, RunError> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let preview = import_run::preview(path, &name, None, None, &[], None)?;
        let options = ImportOptions {
            mapping: preview.mapping,
            on_duplicate: policy,
            assign,
            encoding: None,
            sheet: None,
            delimiter: None,
        };
        import_run::start(self.db(), self.org.admin, &name, path, &options).await
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    db_run!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

/// (name, company, city, owner) of the lead holding this E.164 phone.
async fn lead_by_phone(
    db: &Db,
    e164: &str,
) -> Option<(String, Option<String>, Option<String>, Option<UserId>)> {
    db_run!(db, |pool| {
        sqlx::query_as(
        "SELECT l.name, l.company, l.city, l.owner_id FROM leads l JOIN lead_phones p ON p.lead_id = l.id \
         WHERE p.e164 = $1 AND p.collision_with IS NULL"
    )
    .bind(e164)
    .fetch_optional(pool)
    .await
    .unwrap()
    })
}

fn counts(job: &ImportJob) -> [i64; 5] {
    [
        job.imported,
        job.updated,
        job.skipped,
        job.collisions,
        job.failed,
    ]
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

#[tokio::test]
async fn a_gbk_csv_with_semicolons_imports_and_its_refused_rows_come_back_in_gbk() {
    let f = Fixture::new().await;
    let text = "姓名;手机;公司;城市\r\n\
                张三;13800138000;星河科技有限公司;上海\r\n\
                李四;139 0013 9000;\"云帆;贸易\";北京\r\n\
                ;13700137000;无名公司;广州\r\n\
                王五;12345;坏号码公司;深圳\r\n";
    let path = f.file("客户名单.csv", &gbk(text));
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(job.status, "done");
    assert_eq!(job.rows_done, 4);
    assert_eq!(counts(&job), [2, 0, 0, 0, 2]);
    let (name, company, city, owner) = lead_by_phone(f.db(), "+8613800138000").await.unwrap();
    assert_eq!(
        (name.as_str(), company.as_deref(), city.as_deref(), owner),
        ("张三", Some("星河科技有限公司"), Some("上海"), None)
    );
    assert_eq!(
        lead_by_phone(f.db(), "+8613900139000")
            .await
            .unwrap()
            .1
            .as_deref(),
        Some("云帆;贸易")
    );
    // Refused rows stored nothing.
    assert!(lead_by_phone(f.db(), "+8613700137000").await.is_none());
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 2);

    let (bytes, content_type, name) = import_run::error_report(f.db(), &job, false).await.unwrap();
    assert_eq!(name, "客户名单.errors.csv");
    assert!(content_type.contains("csv"), "{content_type}");
    let (report, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad, "the report is in the file's own (GBK) encoding");
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8: GBK bytes");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(lines[0].starts_with("姓名;手机;公司;城市;"), "{report}");
    assert!(
        lines[1].starts_with(";13700137000;无名公司;广州;"),
        "{report}"
    );
    assert!(
        lines[1].contains("姓名") && lines[1].contains("必填"),
        "{report}"
    );
    assert!(
        lines[2].starts_with("王五;12345;坏号码公司;深圳;"),
        "{report}"
    );
    assert!(lines[2].contains("号码无效"), "{report}");
}

#[tokio::test]
async fn a_bom_csv_with_tabs_and_quoted_newlines_imports_whole_rows() {
    let f = Fixture::new().await;
    let text = "\u{FEFF}name\tphone\tcompany\ttags\n\
                Alice\t13800138001\t\"Acme\nEast branch\"\tvip，新客户\n\
                Bob\t+86 139-0013-9001\tBeta\t\n\
                \"Unclosed\t13800138002\tGamma\t\n";
    let path = f.file("bom.csv", text.as_bytes());
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(job.status, "done");
    // The unclosed quote is refused (never half a row), the two good rows imported.
    assert_eq!(job.imported, 2, "{job:?}");
    assert!(job.failed >= 1, "{job:?}");
    let (name, company, ..) = lead_by_phone(f.db(), "+8613800138001").await.unwrap();
    assert_eq!(name, "Alice");
    assert_eq!(company.as_deref(), Some("Acme\nEast branch"));
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(*) FROM lead_tags").await,
        2,
        "tags split on the Chinese comma"
    );
    assert!(lead_by_phone(f.db(), "+8613800138002").await.is_none());
    let (bytes, _, _) = import_run::error_report(f.db(), &job, false).await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM kept in the report");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("name\tphone\tcompany\ttags\t"), "{text}");
}

/// Writes one cell at (row, column).
type Cell<'a> = &'a dyn Fn(&mut rust_xlsxwriter::Worksheet, u32, u16);

fn xlsx(rows: &[&[Cell]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("客户").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            cell(ws, r as u32, c as u16);
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_xlsx_with_phones_typed_as_numbers_keeps_every_digit() {
    let f = Fixture::new().await;
    let s = |v: &'static str| {
        move |ws: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16| {
            ws.write_string(r, c, v).unwrap();
        }
    };
    let n = |v: f64| {
        move |ws: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16| {
            ws.write_number(r, c, v).unwrap();
        }
    };
    let (h1, h2, h3) = (s("姓名"), s("手机号码"), s("单位"));
    let (a1, a2, a3) = (s("赵六"), n(13_800_138_003.0), s("宏图集团"));
    let (b1, b2, b3) = (s("钱七"), n(8_613_900_139_003.0), s("远景公司"));
    let (c1, c2, c3) = (s("孙八"), n(12345.0), s(""));
    let bytes = xlsx(&[
        &[&h1, &h2, &h3],
        &[&a1, &a2, &a3],
        &[&b1, &b2, &b3],
        &[&c1, &c2, &c3],
    ]);
    let path = f.file("名单.xlsx", &bytes);
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 1], "{job:?}");
    assert_eq!(
        lead_by_phone(f.db(), "+8613800138003").await.unwrap().0,
        "赵六"
    );
    assert_eq!(
        lead_by_phone(f.db(), "+8613900139003").await.unwrap().0,
        "钱七",
        "86 before a number typed as a number is the country code"
    );
    let (bytes, content_type, name) = import_run::error_report(f.db(), &job, false).await.unwrap();
    assert_eq!(name, "名单.errors.xlsx");
    assert!(content_type.contains("spreadsheetml"));
    assert!(bytes.starts_with(b"PK"));
}

fn people_csv(rows: &[&str]) -> Vec<u8> {
    let mut s = String::from("姓名,手机,公司,城市,职位,负责人\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

#[tokio::test]
async fn duplicates_in_the_file_and_in_storage_are_skipped_and_a_rerun_adds_nothing() {
    let f = Fixture::new().await;
    let first = f.file(
        "a.csv",
        &people_csv(&["甲,13800000001,甲公司,上海,,", "乙,,乙科技有限公司,北京,,"]),
    );
    f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    let second = f.file(
        "b.csv",
        &people_csv(&[
            "甲二,+86 138 0000 0001,别的公司,,,",   // stored phone
            "乙二,,乙科技,,,",                      // stored company (normalised)
            "丙,13800000003,丙公司,,,",             // new
            "丙二,13800000003,,,,",                 // same phone earlier in the file
            "丁,13800000004;13800000001,丁公司,,,", // second phone is stored
        ]),
    );
    let job = f.import(&second, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [1, 0, 4, 0, 0], "{job:?}");
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 3);
    let again = f.import(&second, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&again), [0, 0, 5, 0, 0], "{again:?}");
    let again = f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&again), [0, 0, 2, 0, 0]);
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 3);
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM (SELECT e164 FROM lead_phones GROUP BY e164 HAVING COUNT(*) > 1) d"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn update_fills_only_the_empty_fields_of_the_stored_lead() {
    let f = Fixture::new().await;
    let first = f.file("a.csv", &people_csv(&["甲,13800000001,甲公司,,,"]));
    f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    let second = f.file(
        "b.csv",
        &people_csv(&["新名字,13800000001,另一家公司,杭州,经理,"]),
    );
    let job = f.import(&second, OnDuplicate::Update, Assign::Pool).await;
    assert_eq!(counts(&job), [0, 1, 0, 0, 0], "{job:?}");
    let (name, company, city, _) = lead_by_phone(f.db(), "+8613800000001").await.unwrap();
    assert_eq!(name, "甲", "the name is not replaced");
    assert_eq!(company.as_deref(), Some("甲公司"), "a filled field is kept");
    assert_eq!(city.as_deref(), Some("杭州"), "an empty field is filled");
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(*) FROM leads WHERE title = '经理'").await,
        1
    );
    // The lead's history shows the fill: one update entry by the importer, naming the import.
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM audit_log a JOIN lead_phones p ON p.lead_id = a.entity_id \
             WHERE a.entity = 'lead' AND a.action = 'update' AND a.actor_id IS NOT NULL \
             AND p.e164 = '+8613800000001' AND CAST(a.after AS TEXT) LIKE '%\"filled\"%'"
        )
        .await,
        1
    );
    // Once filled, the same file changes nothing more.
    let again = f.import(&second, OnDuplicate::Update, Assign::Pool).await;
    assert_eq!(counts(&again), [0, 0, 1, 0, 0], "{again:?}");
}

#[tokio::test]
async fn an_imported_leads_history_begins_with_its_import_and_its_later_changes_follow() {
    let f = Fixture::new().await;
    let file = f.file(
        "名单.csv",
        &people_csv(&["甲,13800000001,甲公司,,,", "乙,13800000002,,,,"]),
    );
    let job = f.import(&file, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [2, 0, 0, 0, 0], "{job:?}");
    let id = scalar(
        f.db(),
        "SELECT lead_id FROM lead_phones WHERE e164 = '+8613800000001'",
    )
    .await;
    // The import is attributed once, on its job, not copied into an audit row per lead.
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'lead'"
        )
        .await,
        0
    );
    let history = leadline_store::audit::history(f.db(), "lead", id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    let first = &history[0];
    assert_eq!(first.action, "import");
    assert_eq!(first.actor_id, Some(f.org.admin));
    assert!(first.actor_name.is_some(), "{first:?}");
    let after = &first.after.as_ref().unwrap().0;
    assert_eq!(after["import"], job.id);
    assert_eq!(after["file"], "名单.csv");
    // A later change follows the import in the lead's history.
    let again = f.file("b.csv", &people_csv(&["甲,13800000001,甲公司,杭州,,"]));
    f.import(&again, OnDuplicate::Update, Assign::Pool).await;
    let history = leadline_store::audit::history(f.db(), "lead", id)
        .await
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["import", "update"]);
}

#[tokio::test]
async fn collision_imports_the_row_and_records_both_owners() {
    let f = Fixture::new().await;
    let first = f.file("a.csv", &people_csv(&["甲,13800000001,,,,"]));
    f.import(
        &first,
        OnDuplicate::Skip,
        Assign::Owner {
            user_id: f.org.agent_a1,
        },
    )
    .await;
    let second = f.file("b.csv", &people_csv(&["甲另报,13800000001,,,,"]));
    let job = f
        .import(
            &second,
            OnDuplicate::Collision,
            Assign::Owner {
                user_id: f.org.agent_b1,
            },
        )
        .await;
    assert_eq!(counts(&job), [1, 0, 0, 1, 0], "{job:?}");
    let (existing, new): (Option<i64>, Option<i64>) = db_run!(f.db(), |pool| sqlx::query_as(
        "SELECT existing_owner_id, new_owner_id FROM collisions"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(existing, Some(f.org.agent_a1.0));
    assert_eq!(new, Some(f.org.agent_b1.0));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 2);
    assert_eq!(
        lead_by_phone(f.db(), "+8613800000001").await.unwrap().3,
        Some(f.org.agent_a1),
        "the phone still finds the first lead"
    );
}

#[tokio::test]
async fn owners_come_from_the_owner_column_or_round_robin_over_the_teams_agents() {
    let f = Fixture::new().await;
    let path = f.file(
        "owners.csv",
        &people_csv(&[
            "甲,13800000001,,,,agent_a1",
            "乙,13800000002,,,,李娜",
            "丙,13800000003,,,,",
            "丁,13800000004,,,,nobody",
        ]),
    );
    let job = f
        .import(&path, OnDuplicate::Skip, Assign::OwnerColumn)
        .await;
    assert_eq!(counts(&job), [3, 0, 0, 0, 1], "{job:?}");
    let owner = async |p: &str| lead_by_phone(f.db(), p).await.unwrap().3;
    assert_eq!(owner("+8613800000001").await, Some(f.org.agent_a1));
    assert_eq!(
        owner("+8613800000002").await,
        Some(f.org.agent_a2),
        "by display name"
    );
    assert_eq!(
        owner("+8613800000003").await,
        None,
        "an empty cell goes to the pool"
    );
    assert!(lead_by_phone(f.db(), "+8613800000004").await.is_none());
    let (bytes, _, _) = import_run::error_report(f.db(), &job, false).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("nobody") && text.contains("负责人"), "{text}");

    let rr = f.file(
        "rr.csv",
        &people_csv(&[
            "戊,13800000005,,,,",
            "己,13800000006,,,,",
            "庚,13800000007,,,,",
        ]),
    );
    let job = f
        .import(
            &rr,
            OnDuplicate::Skip,
            Assign::RoundRobin {
                team_id: f.org.team_a,
            },
        )
        .await;
    assert_eq!(job.imported, 3);
    // Team A's agents in id order (its supervisor takes no share).
    assert_eq!(owner("+8613800000005").await, Some(f.org.agent_a1));
    assert_eq!(owner("+8613800000006").await, Some(f.org.agent_a2));
    assert_eq!(owner("+8613800000007").await, Some(f.org.agent_a1));
}

#[tokio::test]
async fn options_that_cannot_work_are_refused_before_anything_is_stored() {
    let f = Fixture::new().await;
    let path = f.file("p.csv", &people_csv(&["甲,13800000001,,,,"]));
    let code = |r: Result<ImportJob, RunError>| r.err().map(|e| e.code());
    assert_eq!(
        code(
            f.start(
                &path,
                OnDuplicate::Skip,
                Assign::Owner {
                    user_id: UserId(9999)
                }
            )
            .await
        ),
        Some("unknown_owner")
    );
    let empty_team = leadline_store::auth::users::create_team(f.db(), "空组", None)
        .await
        .unwrap();
    assert_eq!(
        code(
            f.start(
                &path,
                OnDuplicate::Skip,
                Assign::RoundRobin {
                    team_id: empty_team
                }
            )
            .await
        ),
        Some("empty_team")
    );
    let no_owner = f.file("n.csv", "姓名,手机\n甲,13800000001\n".as_bytes());
    assert_eq!(
        code(
            f.start(&no_owner, OnDuplicate::Skip, Assign::OwnerColumn)
                .await
        ),
        Some("owner_column_unmapped")
    );
    let headers = vec!["姓名".to_string(), "手机".to_string()];
    let options = ImportOptions {
        mapping: Mapping::new(&headers, vec![Target::Ignore, Target::Phone]),
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::Pool,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let r = import_run::start(f.db(), f.org.admin, "n.csv", &no_owner, &options).await;
    assert_eq!(code(r), Some("mapping_problem"));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM imports").await, 0);
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 0);
}

#[tokio::test]
async fn files_that_lie_or_overflow_get_clear_errors() {
    let f = Fixture::new().await;
    // Text named .xlsx.
    let fake = f.file("fake.xlsx", "姓名,手机\n甲,13800000001\n".as_bytes());
    let err = import_run::preview(&fake, "fake.xlsx", None, None, &[], None).unwrap_err();
    assert_eq!(err.code(), "name_mismatch");
    // A PDF named .csv.
    let pdf = f.file("list.csv", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n");
    let err = import_run::preview(&pdf, "list.csv", None, None, &[], None).unwrap_err();
    assert_eq!(err.code(), "binary_file");
    // An unknown encoding asked for.
    let ok = f.file("ok.csv", "姓名,手机\n甲,13800000001\n".as_bytes());
    let err = import_run::preview(&ok, "ok.csv", Some("klingon"), None, &[], None).unwrap_err();
    assert_eq!(err.code(), "unsupported_encoding");
    // A single huge cell rejects its row, not the file.
    let huge = format!(
        "姓名,手机,备注\n甲,13800000001,{}\n乙,13800000002,短\n",
        "长".repeat(20_000)
    );
    let path = f.file("huge.csv", huge.as_bytes());
    let job = f.import(&path, OnDuplicate::Skip, Assign::Pool).await;
    assert_eq!(counts(&job), [1, 0, 0, 0, 1], "{job:?}");
    assert!(lead_by_phone(f.db(), "+8613800000001").await.is_none());
}

#[tokio::test]
async fn a_zip_bomb_named_xlsx_is_refused() {
    let f = Fixture::new().await;
    // A real workbook whose sheet is padded with 40 MB of spaces (over 100× its size): tiny compressed, huge unpacked.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("[Content_Types].xml", opts).unwrap();
        zip.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#)
            .unwrap();
        zip.start_file("xl/workbook.xml", opts).unwrap();
        zip.write_all(b"<workbook/>").unwrap();
        zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..40 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
    }
    let path = f.file("bomb.xlsx", buf.get_ref());
    let err = import_run::preview(&path, "bomb.xlsx", None, None, &[], None).unwrap_err();
    assert_eq!(err.code(), "zip_bomb", "{err}");
}

#[tokio::test]
async fn a_supervisor_may_name_only_owners_of_the_teams_they_supervise() {
    let f = Fixture::new().await;
    let path = f.file(
        "sup.csv",
        &people_csv(&["甲,13800000001,,,,agent_a1", "乙,13800000002,,,,agent_b1"]),
    );
    let preview = import_run::preview(&path, "sup.csv", None, None, &[], None).unwrap();
    let options = ImportOptions {
        mapping: preview.mapping,
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::OwnerColumn,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let job = import_run::start(f.db(), f.org.sup_a, "sup.csv", &path, &options)
        .await
        .unwrap();
    let job = import_run::run(f.db(), job.id, |_| {}).await.unwrap();
    assert_eq!(counts(&job), [1, 0, 0, 0, 1], "{job:?}");
    assert_eq!(
        lead_by_phone(f.db(), "+8613800000001").await.unwrap().3,
        Some(f.org.agent_a1)
    );
    assert!(lead_by_phone(f.db(), "+8613800000002").await.is_none());
    let (bytes, _, _) = import_run::error_report(f.db(), &job, false).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains("agent_b1") && text.contains("无权分配"),
        "{text}"
    );
}

/// Batches handed to an import transaction one after another, as the reader has them ready.
struct Queued(std::collections::VecDeque<(Vec<imports::BatchRow>, i64)>);

impl imports::MoreBatches for Queued {
    fn ready(&mut self) -> Option<(Vec<imports::BatchRow>, i64)> {
        self.0.pop_front()
    }
}

/// `n` people with phones `prefix…` as import rows numbered from `first`, owned by `owner`.
fn lead_rows(first: i64, n: i64, prefix: &str, owner: Option<UserId>) -> Vec<imports::BatchRow> {
    (first..first + n)
        .map(|i| {
            let draft = leadline_domain::LeadDraft {
                name: format!("客户{i}"),
                phones: vec![format!("{prefix}{i:08}")],
                ..Default::default()
            };
            let fields = leadline_domain::LeadFields::parse(&draft, &[]).unwrap();
            imports::BatchRow::lead(i, fields, owner)
        })
        .collect()
}

/// The batches the reader has ready are written in one call. On SQLite they go into one
/// transaction: all of them are committed with the job's progress, or, when one fails, none of
/// them (so a resumed import starts again after the last commit). PostgreSQL writes each batch in
/// a transaction of its own, two at a time: when one fails, the batches before it are kept and
/// the job's progress stops after them, and the batch after it, good as it is, is not kept.
#[tokio::test]
async fn batches_written_in_one_call_are_kept_up_to_a_failed_one() {
    let f = Fixture::new().await;
    let path = f.file("batches.csv", &people_csv(&["甲,13800000001,,,,"]));
    let job = f
        .start(&path, OnDuplicate::Skip, Assign::Pool)
        .await
        .unwrap();
    let rows = || lead_rows(1, 100, "139", None);
    let more = Queued(
        [
            (lead_rows(101, 100, "139", None), 200),
            (lead_rows(201, 100, "139", None), 300),
        ]
        .into(),
    );
    let (applied, more) = imports::apply_batches(
        f.db(),
        job.id,
        f.org.admin,
        OnDuplicate::Skip,
        None,
        (rows(), 100),
        more,
    )
    .await
    .unwrap();
    assert_eq!(applied.rows, 300);
    assert_eq!(applied.counts.imported, 300);
    assert_eq!(applied.rows_done, 300);
    assert!(more.0.is_empty());
    let now = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!((now.rows_done, now.imported), (300, 300));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 300);

    // The middle batch's owner does not exist: it fails at the database.
    let more = Queued(
        [
            (lead_rows(1_101, 100, "138", Some(UserId(999_999))), 1_200),
            (lead_rows(1_201, 100, "138", None), 1_300),
        ]
        .into(),
    );
    let failed = imports::apply_batches(
        f.db(),
        job.id,
        f.org.admin,
        OnDuplicate::Skip,
        None,
        (lead_rows(1_001, 100, "138", None), 1_100),
        more,
    )
    .await;
    assert!(failed.is_err());
    let now = imports::get_job(f.db(), job.id).await.unwrap();
    let kept = match f.db().backend() {
        leadline_store::Backend::Sqlite => 300,
        leadline_store::Backend::Postgres => 400,
    };
    let rows_done = if kept == 300 { 300 } else { 1_100 };
    assert_eq!((now.rows_done, now.imported), (rows_done, kept));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, kept);
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM lead_phones WHERE e164 LIKE '+86138%'"
        )
        .await,
        kept - 300,
        "nothing of the batch after the failed one is kept"
    );
}

/// A batch advances an import only while its server still holds the job that runs it: once
/// the lease lapsed and another server claimed the job, a batch of the first server (one that
/// stalled past its lease mid-batch) writes nothing, in its own transaction, and the server that
/// holds the job now goes on.
#[tokio::test]
async fn a_batch_of_a_server_that_lost_its_job_writes_nothing() {
    let f = Fixture::new().await;
    let path = f.file("fenced.csv", &people_csv(&["甲,13800000001,,,,"]));
    let job = f
        .start(&path, OnDuplicate::Skip, Assign::Pool)
        .await
        .unwrap();
    let t0 = leadline_store::now();
    let lease = chrono::TimeDelta::seconds(30);
    leadline_store::jobs::enqueue(f.db(), "fence_test", t0, &serde_json::json!({}), None)
        .await
        .unwrap();
    let first = leadline_store::jobs::claim_leased(f.db(), "fence_test", lease, "server-a", t0, 1)
        .await
        .unwrap();
    let fence = |worker: &str| {
        Some(imports::Fence {
            job_id: first[0].id,
            worker: worker.into(),
        })
    };
    let write = |from: i64, worker: &'static str| {
        imports::apply_batches(
            f.db(),
            job.id,
            f.org.admin,
            OnDuplicate::Skip,
            fence(worker),
            (lead_rows(from, 100, "139", None), from + 99),
            Queued(Default::default()),
        )
    };
    write(1, "server-a").await.unwrap();
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 100);

    // The lease lapses and server B takes the job over.
    let later = t0 + lease + chrono::TimeDelta::seconds(1);
    let taken =
        leadline_store::jobs::claim_leased(f.db(), "fence_test", lease, "server-b", later, 1)
            .await
            .unwrap();
    assert_eq!(taken.len(), 1);
    let lost = write(101, "server-a").await;
    assert!(
        matches!(lost, Err(leadline_store::StoreError::ClaimLost)),
        "{:?}",
        lost.map(|(a, _)| a)
    );
    let now = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!((now.rows_done, now.imported), (100, 100));
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 100);
    write(101, "server-b").await.unwrap();
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 200);
}

/// One of an import's rows, numbered `n`, with a phone and maybe a city.
fn person(n: i64, phone: String, city: Option<&str>) -> imports::BatchRow {
    let draft = leadline_domain::LeadDraft {
        name: format!("客户{n}"),
        phones: vec![phone],
        city: city.map(str::to_string),
        ..Default::default()
    };
    let fields = leadline_domain::LeadFields::parse(&draft, &[]).unwrap();
    imports::BatchRow::lead(n, fields, None)
}

/// Each batch is planned knowing the new leads of the batches before it, stored or (on
/// PostgreSQL, which writes two batches at once) still being written: under every policy a row
/// repeating such a lead's phone is skipped, fills that lead, or is recorded as colliding with
/// it, and no phone is stored twice.
#[tokio::test]
async fn a_batch_handles_the_leads_of_the_batch_written_beside_it_by_the_policy() {
    for policy in [
        OnDuplicate::Skip,
        OnDuplicate::Update,
        OnDuplicate::Collision,
    ] {
        let f = Fixture::new().await;
        let path = f.file("pairs.csv", &people_csv(&["甲,13800000001,,,,"]));
        let job = f.start(&path, policy, Assign::Pool).await.unwrap();
        let phone = |prefix: &str, i: i64| format!("{prefix}{i:08}");
        // 50 new leads; then 10 rows repeating the first ten of them (with a city) and 40 new
        // leads; then 5 rows repeating new leads of the second batch and 5 of the first.
        let first: Vec<_> = (0..50)
            .map(|i| person(i + 1, phone("139", i), None))
            .collect();
        let second: Vec<_> = (0..10)
            .map(|i| person(51 + i, phone("139", i), Some("杭州")))
            .chain((0..40).map(|i| person(61 + i, phone("137", i), None)))
            .collect();
        let third: Vec<_> = (0..5)
            .map(|i| person(101 + i, phone("137", i), Some("苏州")))
            .chain((10..15).map(|i| person(96 + i, phone("139", i), Some("南京"))))
            .collect();
        let (applied, more) = imports::apply_batches(
            f.db(),
            job.id,
            f.org.admin,
            policy,
            None,
            (first, 50),
            Queued([(second, 100), (third, 110)].into()),
        )
        .await
        .unwrap();
        assert!(more.0.is_empty());
        assert_eq!(applied.rows_done, 110);
        let c = applied.counts;
        let expected = match policy {
            OnDuplicate::Skip => [90, 0, 20, 0, 0],
            OnDuplicate::Update => [90, 20, 0, 0, 0],
            OnDuplicate::Collision => [110, 0, 0, 20, 0],
        };
        assert_eq!(
            [c.imported, c.updated, c.skipped, c.collisions, c.failed],
            expected,
            "{policy:?}"
        );
        let job = imports::get_job(f.db(), job.id).await.unwrap();
        assert_eq!(counts(&job), expected, "{policy:?}");
        assert_eq!(
            scalar(f.db(), "SELECT COUNT(*) FROM leads").await,
            expected[0],
            "{policy:?}"
        );
        assert_eq!(
            scalar(
                f.db(),
                "SELECT COUNT(*) FROM (SELECT e164 FROM lead_phones WHERE collision_with IS NULL \
                 GROUP BY e164 HAVING COUNT(*) > 1) d"
            )
            .await,
            0,
            "{policy:?}"
        );
        let db = f.db().clone();
        let city = |e164: &'static str| {
            let db = db.clone();
            async move { lead_by_phone(&db, e164).await.unwrap().2 }
        };
        match policy {
            OnDuplicate::Update => {
                assert_eq!(city("+8613900000000").await.as_deref(), Some("杭州"));
                assert_eq!(city("+8613700000004").await.as_deref(), Some("苏州"));
                assert_eq!(city("+8613900000014").await.as_deref(), Some("南京"));
                assert_eq!(city("+8613900000020").await, None);
            }
            OnDuplicate::Collision => {
                // Each collision names the lead that holds the phone.
                assert_eq!(
                    scalar(
                        f.db(),
                        "SELECT COUNT(*) FROM collisions c JOIN lead_phones p \
                         ON p.lead_id = c.existing_lead_id AND p.e164 = c.phone_e164 \
                         AND p.collision_with IS NULL"
                    )
                    .await,
                    20
                );
            }
            OnDuplicate::Skip => {
                assert_eq!(city("+8613900000000").await, None);
            }
        }
    }
}

/// Imports 3,000 people (phones starting `prefix`) from `name` while `write(db, n)` runs every
/// 3 ms (from 50 ms before the import until it is done): the job, the rows done after each
/// batch, and how many writes ran. Beside writers, the first batch is cut short (500 rows) and
/// later ones to what fits in a few tens of milliseconds, which on a fast machine may be all the
/// rest: more than one batch is what shows the cut.
async fn import_beside<W, Fut>(
    f: &Fixture,
    name: &str,
    prefix: &str,
    write: W,
) -> (ImportJob, Vec<i64>, i64)
where
    W: Fn(Db, i64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let rows: Vec<String> = (0..3_000)
        .map(|i| format!("客户{i},{prefix}{i:08},公司{i},上海,,"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let path = f.file(name, &people_csv(&rows));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = tokio::spawn({
        let (db, stop) = (f.db().clone(), stop.clone());
        async move {
            let mut writes = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                write(db.clone(), writes).await;
                writes += 1;
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            writes
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let job = f
        .start(&path, OnDuplicate::Skip, Assign::Pool)
        .await
        .unwrap();
    let mut steps = Vec::new();
    let job = import_run::run(f.db(), job.id, |p| steps.push(p.rows_done))
        .await
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert_eq!(counts(&job), [3_000, 0, 0, 0, 0], "{job:?}");
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 3_000);
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(DISTINCT e164) FROM lead_phones").await,
        3_000
    );
    assert_eq!(steps.last(), Some(&3_000));
    (job, steps, writes)
}

/// While agents write beside it (here: a write every few milliseconds), an import on SQLite,
/// where every write waits for the batch being written, commits in short batches; every row is
/// still imported exactly once. PostgreSQL writers do not wait for each other: its batches stay
/// whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_beside_working_agents_commits_short_batches_and_loses_no_row() {
    let f = Fixture::new().await;
    let (_, steps, writes) = import_beside(&f, "big.csv", "139", |db, n| async move {
        leadline_store::db::sql::execute(
            &db,
            "INSERT INTO login_failures (username, client, at) VALUES ($1, 'agent', $2)",
            vec![
                leadline_store::db::sql::Arg::Text(format!("agent{n}")),
                leadline_store::db::sql::Arg::Time(leadline_store::now()),
            ],
        )
        .await
        .unwrap();
    })
    .await;
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM login_failures WHERE client = 'agent'"
        )
        .await,
        writes
    );
    match f.db().backend() {
        leadline_store::Backend::Sqlite => {
            assert!(steps.len() > 1, "batches while agents write: {steps:?}")
        }
        leadline_store::Backend::Postgres => assert_eq!(steps, [3_000]),
    }
}

/// The reminder worker polls the writer every second on a running server; nobody waits on that
/// poll, so alone it leaves an import's batches whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reminder_workers_poll_alone_leaves_import_batches_whole() {
    let f = Fixture::new().await;
    let hub = leadline_engine::jobs_runner::Hub::new();
    let (_, steps, _) = import_beside(&f, "quiet.csv", "137", move |db, _| {
        let hub = hub.clone();
        async move {
            leadline_engine::jobs_runner::run_due(&db, &hub)
                .await
                .unwrap();
        }
    })
    .await;
    assert_eq!(steps, [3_000]);
}

/// Writes on another connection than SQLite's one writer (a page's edit through sqlx here; a
/// `leadline import` in another process is the same to SQLite) count as somebody writing: an
/// import beside them commits short batches and leaves the lock free between them, and no row
/// of either is lost. PostgreSQL's batches stay whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_another_connection_make_an_import_commit_short_batches() {
    let f = Fixture::new().await;
    let hub = leadline_engine::jobs_runner::Hub::new();
    let (_, steps, writes) = import_beside(&f, "beside.csv", "136", move |db, n| {
        let hub = hub.clone();
        async move {
            db_run!(&db, |pool| sqlx::query(
                "INSERT INTO login_failures (username, client, at) VALUES ($1, 'editor', $2)"
            )
            .bind(format!("editor{n}"))
            .bind(leadline_store::now())
            .execute(pool)
            .await
            .map(|_| ())
            .unwrap());
            // On a running server the reminder worker's poll has the writer look every second.
            leadline_engine::jobs_runner::run_due(&db, &hub)
                .await
                .unwrap();
        }
    })
    .await;
    assert_eq!(
        scalar(
            f.db(),
            "SELECT COUNT(*) FROM login_failures WHERE client = 'editor'"
        )
        .await,
        writes
    );
    match f.db().backend() {
        leadline_store::Backend::Sqlite => {
            assert!(steps.len() > 1, "batches beside the editor: {steps:?}")
        }
        leadline_store::Backend::Postgres => assert_eq!(steps, [3_000]),
    }
}

/// A web import is a job in the jobs table. Its server stops it after the first batch (as if it
/// died) holding the job's claim; while the claim is fresh no other worker touches it, and once
/// its lease has lapsed another server's worker finishes it from the batch it stopped at, reading
/// the upload from the database: every row once, and the upload removed.
#[tokio::test]
async fn an_import_whose_server_died_is_finished_by_another_worker_once_its_lease_lapses() {
    use leadline_engine::import_job::{self, RUN_IMPORT, RunImport};
    use leadline_engine::jobs_runner::{Hub, JobHandler, Registry, Worker};
    use leadline_store::{jobs, uploads};

    let f = Fixture::new().await;
    let rows: Vec<String> = (0..12_000)
        .map(|i| format!("客户{i},13{i:09},公司{i},上海,,"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let bytes = people_csv(&rows);
    // The upload as a server stores it: in the database, in chunks.
    let now = leadline_store::now();
    let token = leadline_store::auth::random_secret();
    let id = uploads::create(f.db(), &token, f.org.admin, "big.csv", "csv", now)
        .await
        .unwrap();
    for (seq, chunk) in bytes.chunks(uploads::CHUNK_BYTES / 4).enumerate() {
        uploads::put_chunk(f.db(), id, seq as i64, chunk)
            .await
            .unwrap();
    }
    uploads::finish(f.db(), id, bytes.len() as i64)
        .await
        .unwrap();
    let upload = uploads::find(f.db(), &token).await.unwrap().unwrap();
    let first_server = f.dir.join("first");
    let local = leadline_engine::upload_files::local_copy(f.db(), &first_server, &upload)
        .await
        .unwrap();
    let preview = import_run::preview(&local, "big.csv", None, None, &[], None).unwrap();
    let options = ImportOptions {
        mapping: preview.mapping,
        on_duplicate: OnDuplicate::Skip,
        assign: Assign::Pool,
        encoding: None,
        sheet: None,
        delimiter: None,
    };
    let job = import_run::start_stored(f.db(), f.org.admin, &upload, &local, &options)
        .await
        .unwrap();
    import_job::queue_start(f.db(), &Hub::new(), &job)
        .await
        .unwrap();

    // The first server claims the job, commits one batch and dies.
    let t0 = leadline_store::now();
    let claimed = jobs::claim_leased(f.db(), RUN_IMPORT, RunImport::LEASE, "dead", t0, 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ran = import_run::run_until(
        f.db(),
        job.id,
        &first_server,
        |_| stop.store(true, std::sync::atomic::Ordering::Relaxed),
        stop.clone(),
        None,
    )
    .await
    .unwrap();
    let import_run::Ran::Stopped(stopped) = ran else {
        panic!("the run did not stop: {ran:?}")
    };
    assert_eq!(stopped.status, "running");
    assert!(
        stopped.rows_done > 0 && stopped.rows_done < 12_000,
        "{stopped:?}"
    );

    // Another server, with its own directory: nothing to do while the claim is fresh.
    let other = Worker::new(
        f.db().clone(),
        Hub::new(),
        Registry::standard(f.dir.join("second")),
    );
    let fresh = t0 + RunImport::LEASE - chrono::TimeDelta::seconds(1);
    assert_eq!(other.run_due(fresh).await.unwrap(), 0);
    assert_eq!(
        imports::get_job(f.db(), job.id).await.unwrap().rows_done,
        stopped.rows_done
    );
    let lapsed = t0 + RunImport::LEASE + chrono::TimeDelta::seconds(1);
    assert_eq!(other.run_due(lapsed).await.unwrap(), 1);
    let done = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!(done.status, "done", "{done:?}");
    assert_eq!(counts(&done), [12_000, 0, 0, 0, 0]);
    assert_eq!(scalar(f.db(), "SELECT COUNT(*) FROM leads").await, 12_000);
    assert_eq!(
        scalar(f.db(), "SELECT COUNT(DISTINCT e164) FROM lead_phones").await,
        12_000
    );
    assert_eq!(
        jobs::status(f.db(), claimed[0].id)
            .await
            .unwrap()
            .as_deref(),
        Some("done")
    );
    assert!(uploads::find(f.db(), &token).await.unwrap().is_none());
}

/// An "update" fill reads the stored lead's custom values to merge into: when they do not parse,
/// the batch fails naming the lead (issue 20, part 5), rather than filling from an empty map and
/// saving it over them. The job reports the failure, and nothing of the batch is written.
#[tokio::test]
async fn an_update_over_a_lead_with_damaged_custom_values_fails_the_batch_naming_the_lead() {
    let f = Fixture::new().await;
    let first = f.file("a.csv", &people_csv(&["甲,13800000001,,,,"]));
    f.import(&first, OnDuplicate::Skip, Assign::Pool).await;
    let id = scalar(
        f.db(),
        "SELECT lead_id FROM lead_phones WHERE e164 = '+8613800000001'",
    )
    .await;
    let damage = match f.db().backend() {
        leadline_store::Backend::Sqlite => {
            "UPDATE leads SET custom = '{\"budget\": ' WHERE id = $1"
        }
        leadline_store::Backend::Postgres => {
            "UPDATE leads SET custom = '[\"budget\"]'::jsonb WHERE id = $1"
        }
    };
    leadline_store::db::sql::execute(f.db(), damage, vec![leadline_store::db::sql::Arg::I64(id)])
        .await
        .unwrap();

    let second = f.file(
        "b.csv",
        &people_csv(&["甲,13800000001,甲公司,杭州,,", "乙,13800000002,乙公司,,,"]),
    );
    let job = f
        .start(&second, OnDuplicate::Update, Assign::Pool)
        .await
        .unwrap();
    let failed = import_run::run(f.db(), job.id, |_| {}).await;
    match failed {
        Err(RunError::Store(leadline_store::StoreError::Corrupt { table, row, .. })) => {
            assert_eq!((table, row), ("leads", id));
        }
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
    let job = imports::get_job(f.db(), job.id).await.unwrap();
    assert_eq!(job.status, "failed", "{job:?}");
    let error = job.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("stored_value_invalid") && error.contains(&format!("leads row {id}")),
        "{error}"
    );
    assert_eq!(counts(&job), [0, 0, 0, 0, 0], "{job:?}");
    let (_, company, city, _) = lead_by_phone(f.db(), "+8613800000001").await.unwrap();
    assert_eq!(
        (company, city),
        (None, None),
        "the stored lead is not filled"
    );
    assert!(
        lead_by_phone(f.db(), "+8613800000002").await.is_none(),
        "the batch's new lead is not written"
    );
    let custom: String = db_run!(f.db(), |pool| sqlx::query_scalar(
        "SELECT CAST(custom AS TEXT) FROM leads WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert!(
        custom.contains("budget"),
        "the damaged value is left as it was: {custom}"
    );
}

use leadline_domain::{CustomFieldDef, FieldKind, IntentLevel, LeadStatus};
use leadline_import::{Mapping, MappingProblem, SourceRow, Target, auto_map};

use crate::s;

fn defs() -> Vec<CustomFieldDef> {
    let def = |key: &str, zh: &str, en: &str, kind, required| CustomFieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind,
        required,
        options: vec!["教育".into(), "医疗".into()],
    };
    vec![
        def("budget", "预算", "Budget", FieldKind::Number, false),
        def(
            "visit_date",
            "拜访日期",
            "Visit date",
            FieldKind::Date,
            false,
        ),
        def("industry", "行业", "Industry", FieldKind::Select, false),
    ]
}

#[test]
fn chinese_headers_map_to_standard_fields() {
    let headers = s(&[
        "客户姓名",
        "手机号码",
        "座机",
        "单位名称",
        "职务",
        "所在城市",
        "省份",
        "线索来源",
        "标签",
        "客户状态",
        "意向等级",
        "负责人",
        "备注",
    ]);
    assert_eq!(
        auto_map(&headers, &[]),
        [
            Target::Name,
            Target::Phone,
            Target::Phone,
            Target::Company,
            Target::Title,
            Target::City,
            Target::Region,
            Target::Source,
            Target::Tags,
            Target::Status,
            Target::Intent,
            Target::Owner,
            Target::Ignore
        ]
    );
}

#[test]
fn english_headers_ignore_case_space_and_punctuation() {
    let headers = s(&[
        " Full Name ",
        "Mobile",
        "Tel.",
        "Phone 2",
        "COMPANY",
        "Organisation",
        "Job Title",
        "city",
        "Province",
        "Lead Source",
        "Tags",
        "Status",
        "Intent Level",
        "Assigned To",
        "E-mail",
    ]);
    assert_eq!(
        auto_map(&headers, &[]),
        [
            Target::Name,
            Target::Phone,
            Target::Phone,
            Target::Phone,
            Target::Company,
            Target::Ignore, // a second company column is left out
            Target::Title,
            Target::City,
            Target::Region,
            Target::Source,
            Target::Tags,
            Target::Status,
            Target::Intent,
            Target::Owner,
            Target::Email, // a lead field of its own since issue 22
        ]
    );
    assert_eq!(
        auto_map(&s(&["姓名（必填）", "手机*", "联系人电话", "ＴＥＬ"]), &[]),
        [Target::Name, Target::Phone, Target::Phone, Target::Phone]
    );
    assert_eq!(
        auto_map(&s(&["邮箱"]), &[]),
        [Target::Email],
        "邮箱 / 电子邮件 / Email"
    );
    assert_eq!(auto_map(&s(&["电子邮件"]), &[]), [Target::Email]);
    assert_eq!(auto_map(&s(&["Email"]), &[]), [Target::Email]);
}

#[test]
fn custom_fields_match_by_key_and_labels() {
    let headers = s(&["姓名", "预算", "Visit Date", "industry", "客户名称"]);
    assert_eq!(
        auto_map(&headers, &defs()),
        [
            Target::Name,
            Target::Custom("budget".into()),
            Target::Custom("visit_date".into()),
            Target::Custom("industry".into()),
            Target::Ignore
        ]
    );
}

#[test]
fn a_saved_mapping_is_reused_by_header_name() {
    let first = s(&["姓名", "电话", "备注", "单位"]);
    let mut saved = Mapping::auto(&first, &defs());
    saved.columns[2].target = Target::Custom("budget".into()); // the user's choice
    let json = serde_json::to_string(&saved).unwrap();
    assert!(json.contains(r#""target":{"custom":"budget"}"#), "{json}");
    let saved: Mapping = serde_json::from_str(&json).unwrap();
    // The next file has the columns in another order, one renamed, one new.
    let next = s(&["单位", " 备注 ", "联系人", "手机"]);
    let m = Mapping::reuse(&saved, &next, &defs());
    let targets: Vec<Target> = m.columns.iter().map(|c| c.target.clone()).collect();
    assert_eq!(
        targets,
        [
            Target::Company,
            Target::Custom("budget".into()),
            Target::Name,
            Target::Phone
        ]
    );
}

#[test]
fn mapping_problems_are_found_before_reading() {
    let mut required = defs();
    required[2].required = true;
    let m = Mapping::new(
        &s(&["a", "b", "c", "d"]),
        vec![
            Target::Phone,
            Target::Company,
            Target::Company,
            Target::Custom("nope".into()),
        ],
    );
    let codes: Vec<&str> = m
        .problems(&required)
        .iter()
        .map(MappingProblem::code)
        .collect();
    assert_eq!(
        codes,
        [
            "no_name_column",
            "duplicate_target",
            "unknown_custom_field",
            "required_field_unmapped"
        ]
    );
}

fn row(cells: &[&str]) -> SourceRow {
    SourceRow {
        number: 7,
        cells: s(cells),
    }
}

#[test]
fn rows_become_checked_leads() {
    let headers = s(&[
        "姓名",
        "手机1",
        "手机2",
        "公司",
        "标签",
        "状态",
        "意向",
        "负责人",
        "预算",
        "拜访日期",
        "备注",
    ]);
    let m = Mapping::auto(&headers, &defs());
    let r = row(&[
        " 王小明 ",
        "13800138000/13900139000",
        "'+86 10 6552 9988",
        "星河科技",
        "展会、VIP；老客户",
        "待回访",
        "有意向",
        "zhang",
        "12,000",
        "2024年3月5日",
        "#N/A",
    ]);
    let draft = m.to_draft(&r, &defs()).unwrap();
    assert_eq!(draft.number, 7);
    assert_eq!(draft.owner.as_deref(), Some("zhang"));
    assert_eq!(
        draft.draft.phones,
        s(&["13800138000", "13900139000", "+86 10 6552 9988"])
    );
    assert_eq!(draft.draft.tags, s(&["展会", "VIP", "老客户"]));
    let lead = m.parse_row(&r, &defs()).unwrap();
    assert_eq!(lead.fields.name, "王小明");
    assert_eq!(lead.fields.phones.len(), 3);
    assert_eq!(lead.fields.status, LeadStatus::CallBack);
    assert_eq!(lead.fields.intent, Some(IntentLevel::Interested));
    assert_eq!(lead.fields.custom["budget"], 12000);
    assert_eq!(lead.fields.custom["visit_date"], "2024-03-05");
}

#[test]
fn bad_rows_say_why() {
    let headers = s(&["姓名", "手机", "预算"]);
    let m = Mapping::auto(&headers, &defs());
    let err = m.parse_row(&row(&["", "12", "lots"]), &defs()).unwrap_err();
    assert_eq!(err.code(), "invalid");
    assert_eq!(err.cells, s(&["", "12", "lots"]));
    let reason = err.reason(&headers, &defs());
    assert!(reason.starts_with("第 7 行："), "{reason}");
    assert!(
        reason.contains("姓名必填") && reason.contains("电话号码无效"),
        "{reason}"
    );
    assert!(
        reason.contains("phone: not a valid phone number"),
        "{reason}"
    );
    // A custom field is named by its label, not its key.
    assert!(reason.contains("「预算」不是数字"), "{reason}");
    assert!(reason.contains("Budget: not a number"), "{reason}");
    assert!(!reason.contains("budget"), "{reason}");
    let err = m.to_draft(&row(&["王", "#REF!", ""]), &defs()).unwrap_err();
    assert_eq!(err.code(), "cell_error");
    assert!(err.reason(&headers, &defs()).contains("列「手机」"));
}

//! When two company names mean the same customer, for 撞单 (collision) detection: a leading
//! province or city (北京星河科技 / 星河科技（北京）), legal forms (有限公司, 股份有限公司,
//! Co., Ltd.), brackets, spaces and full-width forms do not make two companies different.
//!
//! A place is kept when what would remain is a generic word or too short to name a company on
//! its own: 北京银行 and 上海银行 are two banks, not one.

/// Provinces, autonomous regions and the cities most often put before a company's name.
const PLACES: &[&str] = &[
    "黑龙江",
    "内蒙古",
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "石家庄",
    "哈尔滨",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "厦门",
    "青岛",
    "大连",
    "宁波",
    "无锡",
    "佛山",
    "东莞",
    "长沙",
    "郑州",
    "济南",
    "合肥",
    "福州",
    "昆明",
    "沈阳",
    "长春",
    "太原",
    "南昌",
    "南宁",
    "贵阳",
    "兰州",
    "海口",
    "珠海",
    "温州",
    "常州",
    "烟台",
    "中山",
    "惠州",
    "泉州",
    "绍兴",
    "嘉兴",
    "金华",
    "台州",
    "徐州",
    "南通",
    "扬州",
    "潍坊",
    "临沂",
];

/// What may follow a place's name: 省, 市, or a region's full title.
const PLACE_TITLES: &[&str] = &[
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "自治区",
    "特别行政区",
    "省",
    "市",
];

/// Legal forms at the end of a name, longest first.
const LEGAL_FORMS: &[&str] = &[
    "集团股份有限公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "股份公司",
    "有限公司",
    "集团公司",
    "集团",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd.",
    "co.ltd",
    "co.,limited",
    "limited",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
    "llc",
    "corp.",
    "corp",
];

/// Words too general to name a company once the place is gone.
const GENERIC: &[&str] = &[
    "银行",
    "医院",
    "大学",
    "学院",
    "中学",
    "小学",
    "电视台",
    "电力",
    "电气",
    "汽车",
    "地铁",
    "机场",
    "港务",
    "公交",
    "自来水",
    "燃气",
    "日报",
    "晚报",
    "科技",
    "贸易",
    "电子",
    "商贸",
    "实业",
    "投资",
    "建设",
    "建筑",
    "农商银行",
    "商业银行",
    "证券",
    "保险",
    "电信",
    "移动",
    "联通",
    "邮政",
    "烟草",
];

/// The name's key: two names with the same non-empty key are the same company.
pub fn company_key(name: &str) -> String {
    let mut s = fold(name);
    s = drop_brackets(&s);
    s = strip_legal_forms(s);
    // A name that was nothing but a legal form names no company.
    if matches!(
        s.as_str(),
        "有限" | "有限责任" | "股份" | "股份有限" | "co." | "co"
    ) {
        return String::new();
    }
    strip_places(s)
}

/// Whether two company names name the same customer.
pub fn same_company(a: &str, b: &str) -> bool {
    let a = company_key(a);
    !a.is_empty() && a == company_key(b)
}

/// Full-width letters, digits and brackets to their ASCII forms, Latin letters to lower case,
/// spaces (of either width) and joining marks dropped.
fn fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .map(|c| match c {
            '【' | '〔' | '「' | '[' => '(',
            '】' | '〕' | '」' | ']' => ')',
            other => other,
        })
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Removes bracketed parts such as "(北京)" or "(集团)".
fn drop_brackets(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            ')' => {}
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn strip_legal_forms(mut s: String) -> String {
    loop {
        let before = s.len();
        for form in LEGAL_FORMS {
            if let Some(rest) = s.strip_suffix(form)
                && !rest.is_empty()
            {
                s = rest.to_string();
            }
        }
        let trimmed = s.trim_end_matches([',', '.', '-', '&']).to_string();
        s = trimmed;
        if s.len() == before {
            return s;
        }
    }
}

/// Drops leading places (广东省深圳市…) while what remains still names a company.
fn strip_places(mut s: String) -> String {
    loop {
        let Some(rest) = leading_place(&s) else {
            return s;
        };
        if rest.chars().count() < 3 || GENERIC.contains(&rest) {
            return s;
        }
        s = rest.to_string();
    }
}

/// The name after its leading place and the place's title, if it starts with one.
fn leading_place(s: &str) -> Option<&str> {
    let place = PLACES.iter().find(|p| s.starts_with(**p))?;
    let rest = &s[place.len()..];
    Some(
        PLACE_TITLES
            .iter()
            .find_map(|t| rest.strip_prefix(*t))
            .unwrap_or(rest),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_looking_names_of_one_company_match() {
        let same = [
            ("北京星河科技有限公司", "星河科技（北京）"),
            ("北京星河科技有限公司", "星河科技有限公司"),
            ("北京市星河科技有限公司", "星河科技股份有限公司"),
            ("广东省深圳市华强电子有限公司", "华强电子"),
            ("深圳华为技术有限公司", "华为技术有限公司"),
            ("杭州蓝海贸易有限责任公司", "蓝海贸易（杭州）有限公司"),
            ("上海申华实业股份有限公司", "申华实业股份公司"),
            ("星河科技【北京】有限公司", "星河科技(北京)有限公司"),
            ("ＡＣＭＥ　Ｃｏ．，Ｌｔｄ．", "Acme Co., Ltd."),
            ("Acme Inc", "ACME"),
            ("新疆维吾尔自治区天山纺织有限公司", "天山纺织"),
            ("广西壮族自治区南宁糖业股份有限公司", "南宁糖业"),
            ("远 大 集 团", "远大集团有限公司"),
            ("江苏省苏州市恒力纺织有限公司", "恒力纺织（苏州）有限公司"),
            ("浙江吉利控股集团有限公司", "吉利控股"),
            ("青岛海尔智家股份有限公司", "海尔智家股份公司"),
            ("成都市天府软件园有限公司", "天府软件园"),
            ("武汉〔光谷〕生物科技有限公司", "武汉生物科技有限公司"),
            (
                "ＢＹＤ　Ｃｏｍｐａｎｙ　Ｌｉｍｉｔｅｄ",
                "byd company limited",
            ),
            ("上海·申通快递有限公司", "申通快递"),
        ];
        for (a, b) in same {
            assert!(
                same_company(a, b),
                "{a} / {b}: {} vs {}",
                company_key(a),
                company_key(b)
            );
        }
    }

    #[test]
    fn different_companies_do_not_match() {
        let different = [
            ("北京银行", "上海银行"),
            ("北京银行股份有限公司", "上海银行股份有限公司"),
            ("北京电视台", "湖南电视台"),
            ("北京星河科技有限公司", "北京星海科技有限公司"),
            ("星河科技", "星河贸易"),
            ("北京汽车", "上海汽车"),
            ("北京大学", "南京大学"),
            ("华为", "华为技术"),
            ("", ""),
            ("有限公司", "有限公司"),
            ("星河科技有限公司", "星河贸易有限公司"),
            ("北京星河科技有限公司", "上海星河物流有限公司"),
            ("华信物流", "华信物流园"),
            ("南京大学", "北京大学"),
            ("中国银行", "中国建设银行"),
            ("深圳华为", "华为"),
            ("云帆贸易", "云帆"),
        ];
        for (a, b) in different {
            assert!(
                !same_company(a, b),
                "{a} / {b} matched as {}",
                company_key(a)
            );
        }
    }

    #[test]
    fn a_place_is_kept_when_the_rest_is_generic_or_short() {
        assert_eq!(company_key("北京银行"), "北京银行");
        assert_eq!(company_key("上海电气集团"), "上海电气");
        assert_eq!(company_key("深圳华为"), "深圳华为");
        assert_eq!(company_key("北京星河科技有限公司"), "星河科技");
    }
}

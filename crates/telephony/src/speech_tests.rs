use super::*;

/// The fragments as the words they say in Mandarin (the demo texts), for readable asserts.
fn cmn(fragments: &[String]) -> String {
    fragments
        .iter()
        .map(|f| match f.as_str() {
            "say_0" => "零",
            "say_1" => "一",
            "say_2" => "二",
            "say_3" => "三",
            "say_4" => "四",
            "say_5" => "五",
            "say_6" => "六",
            "say_7" => "七",
            "say_8" => "八",
            "say_9" => "九",
            "say_10" => "十",
            "say_100" => "百",
            "say_1000" => "千",
            "say_10000" => "万",
            "say_100000000" => "亿",
            "say_liang" => "两",
            "say_minus" => "负",
            "say_yuan" => "元",
            "say_jiao" => "角",
            "say_fen" => "分",
            "say_year" => "年",
            "say_month" => "月",
            "say_day" => "日",
            other => panic!("{other} is not a Mandarin number fragment"),
        })
        .collect()
}

/// The fragments as English words.
fn en(fragments: &[String]) -> String {
    const WORDS: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    fragments
        .iter()
        .map(|f| {
            let name = f.strip_prefix("say_").expect("a number fragment");
            match name.parse::<usize>() {
                Ok(n) if n < 20 => WORDS[n].to_owned(),
                Ok(n) if n < 100 => TENS[n / 10].to_owned(),
                Ok(100) => "hundred".into(),
                Ok(1000) => "thousand".into(),
                Ok(1_000_000) => "million".into(),
                Ok(1_000_000_000) => "billion".into(),
                _ => name
                    .replace("month_12", "December")
                    .replace("month_1", "January"),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn mandarin_reads_amounts_exactly_in_fen() {
    assert_eq!(cmn(&amount("cmn", 123_450)), "一千二百三十四元五角");
    assert_eq!(cmn(&amount("cmn", 5)), "五分");
    assert_eq!(cmn(&amount("cmn", 50)), "五角");
    assert_eq!(cmn(&amount("cmn", 0)), "零元");
    assert_eq!(cmn(&amount("cmn", 100_005)), "一千元零五分");
    assert_eq!(cmn(&amount("cmn", 1_099)), "十元九角九分");
    assert_eq!(cmn(&amount("cmn", 200_000)), "两千元");
    assert_eq!(cmn(&amount("cmn", -1_500)), "负十五元");
    assert_eq!(cmn(&amount("yue", 123_450)), "一千二百三十四元五角");
}

#[test]
fn mandarin_says_zero_once_for_the_zeros_inside_a_number() {
    let cases = [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (110, "一百一十"),
        (205, "二百零五"),
        (1005, "一千零五"),
        (1010, "一千零一十"),
        (1234, "一千二百三十四"),
        (2000, "两千"),
        (10_000, "一万"),
        (10_010, "一万零一十"),
        (20_000, "两万"),
        (22_000, "两万两千"),
        (100_500, "十万零五百"),
        (1_001_000, "一百万一千"),
        (1_000_000, "一百万"),
        (100_000_005, "一亿零五"),
        (120_000_000, "一亿两千万"),
        (1_000_010_000, "十亿零一万"),
    ];
    for (n, words) in cases {
        assert_eq!(cmn(&number("cmn", n)), words, "{n}");
    }
}

#[test]
fn english_reads_amounts_as_yuan_and_fen() {
    assert_eq!(
        en(&amount("en", 123_450)),
        "one thousand two hundred thirty four yuan fifty fen"
    );
    assert_eq!(en(&amount("en", 5)), "five fen");
    assert_eq!(en(&amount("en", 0)), "zero yuan");
    assert_eq!(en(&amount("en", 100_000)), "one thousand yuan");
    assert_eq!(en(&number("en", 1005)), "one thousand five");
    assert_eq!(en(&number("en", 10)), "ten");
    assert_eq!(en(&number("en", 115)), "one hundred fifteen");
    assert_eq!(
        en(&number("en", 2_000_300_017)),
        "two billion three hundred thousand seventeen"
    );
}

#[test]
fn dates_read_the_year_by_digits_in_chinese_and_as_a_number_in_english() {
    assert_eq!(cmn(&date("cmn", 2026, 12, 7)), "二零二六年十二月七日");
    assert_eq!(cmn(&date("yue", 2027, 1, 31)), "二零二七年一月三十一日");
    assert_eq!(
        en(&date("en", 2026, 12, 7)),
        "December seven two thousand twenty six"
    );
}

#[test]
fn answers_name_the_status_then_the_amount_due_and_its_date() {
    let overdue = Answer::Receivable(ReceivableStatus {
        status: OrderStanding::Overdue,
        open_fen: 123_450,
        next_due: Some((2026, 11, 30)),
    });
    let spoken = answer("cmn", &overdue);
    assert_eq!(
        &spoken[..3],
        ["ans_status", "ans_overdue", "ans_open_amount"]
    );
    assert_eq!(cmn(&spoken[3..13]), "一千二百三十四元五角");
    assert_eq!(spoken[13], "ans_due_date");
    assert_eq!(cmn(&spoken[14..spoken.len() - 1]), "二零二六年十一月三十日");
    let paid = Answer::Receivable(ReceivableStatus {
        status: OrderStanding::Paid,
        open_fen: 0,
        next_due: None,
    });
    assert_eq!(
        answer("en", &paid),
        ["ans_status", "ans_paid", "ans_thanks"]
    );
    let rep = Answer::Rep(RepResults {
        orders: 3,
        amount_fen: 1_000_000,
        commission_fen: 30_005,
    });
    let spoken = answer("en", &rep);
    assert_eq!(spoken[0], "ans_rep_orders");
    assert_eq!(en(&spoken[1..2]), "three");
    assert_eq!(spoken[2..4], ["ans_orders_unit", "ans_rep_amount"]);
    assert_eq!(en(&spoken[4..7]), "ten thousand yuan");
    assert_eq!(spoken[7], "ans_rep_commission");
    assert_eq!(
        en(&spoken[8..spoken.len() - 1]),
        "three hundred yuan five fen"
    );
    assert_eq!(answer("yue", &Answer::WrongPin), ["ans_wrong_pin"]);
    assert!(
        !Answer::NotFound.is_found()
            && Answer::Rep(RepResults {
                orders: 0,
                amount_fen: 0,
                commission_fen: 0
            })
            .is_found()
    );
}

#[test]
fn every_fragment_an_answer_plays_is_in_the_list() {
    let names = fragment_names();
    let mut spoken = Vec::new();
    for language in ["cmn", "en", "yue"] {
        for n in [0, 7, 10, 15, 99, 1005, 22_000, 100_500, 123_456_789_012] {
            spoken.extend(number(language, n));
            spoken.extend(amount(language, n as i64));
            spoken.extend(amount(language, -(n as i64)));
        }
        for month in 1..=12 {
            spoken.extend(date(language, 2026, month, 28));
        }
    }
    for fragment in spoken {
        assert!(names.contains(&fragment), "{fragment} has no prompt file");
    }
}

#[test]
fn a_reminder_says_the_amount_then_the_due_date_then_press_1() {
    let said = reminder("cmn", 60_000, 2026, 12, 10);
    assert_eq!(said.first().map(String::as_str), Some("ans_reminder_intro"));
    assert_eq!(
        said.last().map(String::as_str),
        Some("ans_reminder_press_1")
    );
    let due = said.iter().position(|f| f == "ans_reminder_due").unwrap();
    assert_eq!(cmn(&said[1..due]), "六百元");
    assert_eq!(cmn(&said[due + 1..said.len() - 1]), "二零二六年十二月十日");
    for fragment in reminder("en", 1, 2027, 1, 5) {
        assert!(fragment_names().contains(&fragment), "{fragment}");
    }
}

#[test]
fn a_revisit_says_the_order_day_then_the_amount_then_press_1_or_2() {
    let said = revisit("cmn", 1_234_500, 2026, 12, 7);
    assert_eq!(said.first().map(String::as_str), Some("ans_revisit_intro"));
    assert_eq!(said.last().map(String::as_str), Some("ans_revisit_press"));
    let amount = said.iter().position(|f| f == "ans_revisit_amount").unwrap();
    assert_eq!(cmn(&said[1..amount]), "二零二六年十二月七日");
    assert_eq!(
        cmn(&said[amount + 1..said.len() - 1]),
        "一万两千三百四十五元"
    );
    for fragment in revisit("en", 50, 2027, 1, 5) {
        assert!(fragment_names().contains(&fragment), "{fragment}");
    }
}

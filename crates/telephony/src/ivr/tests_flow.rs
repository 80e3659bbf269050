//! Flow files: the demo parses into what it says; each broken rule is refused with its message.

use super::*;

fn problems(text: &str) -> Vec<String> {
    match Flow::parse(text) {
        Err(FlowError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn syntax_error(text: &str) -> String {
    match Flow::parse(text) {
        Err(FlowError::Syntax(message)) => message,
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

const HEAD: &str = r#"
number = "8000"
name = "test"
languages = ["cmn", "en"]
default_language = "cmn"
start = "main"
"#;

fn with_nodes(nodes: &str) -> String {
    format!("{HEAD}{nodes}\n[nodes.bye]\nkind = \"hangup\"\n")
}

fn queue_with_seats(seats: &[&str]) -> String {
    let seats: Vec<String> = seats.iter().map(|seat| format!("{seat:?}")).collect();
    with_nodes(&format!(
        r#"[nodes.main]
kind = "queue"
prompt = "please_hold"
seats = [{}]
strategy = "ring_all"
ring_timeout_s = 15
max_wait_s = 60
on_timeout = "bye""#,
        seats.join(", ")
    ))
}

#[test]
fn the_demo_flow_answers_9000_with_a_language_menu_look_ups_and_voicemail() {
    let flow = Flow::parse(DEMO_FLOW).unwrap();
    assert_eq!(flow.number, "9000");
    assert_eq!(flow.start, "language");
    let Some(Node::LanguageMenu(language)) = flow.node("language") else {
        panic!("language menu")
    };
    let choices: Vec<(char, &str)> = language
        .options
        .iter()
        .map(|o| (o.key.0, o.language.as_str()))
        .collect();
    assert_eq!(choices, [('1', "cmn"), ('2', "en"), ('3', "yue")]);
    let Some(Node::Menu(main)) = flow.node("main") else {
        panic!("main menu")
    };
    let keys: Vec<Key> = main.options.iter().map(|o| o.key).collect();
    assert_eq!(keys, [Key('1'), Key('2'), Key('9'), Key('0')]);
    let next = |key| {
        &main
            .options
            .iter()
            .find(|o| o.key == Key(key))
            .unwrap()
            .next
    };
    let Some(Node::Voicemail(voicemail)) = flow.node(next('9')) else {
        panic!("9 leads to voicemail")
    };
    let Some(Node::Collect(order)) = flow.node(next('1')) else {
        panic!("1 collects an order number")
    };
    assert_eq!(
        (order.lookup, order.end_key),
        (Lookup::ReceivableStatus, Key('#'))
    );
    let Some(Node::Collect(pin)) = flow.node(next('2')) else {
        panic!("2 collects a rep's PIN")
    };
    assert_eq!((pin.lookup, pin.retries), (Lookup::RepResults, 2));
    assert!(matches!(flow.node(&pin.on_fail), Some(Node::Hangup(_))));
    assert!(matches!(flow.node(next('0')), Some(Node::Queue(_))));
    let categories: Vec<(char, &str)> = voicemail
        .categories
        .iter()
        .map(|c| (c.key.0, c.category.as_str()))
        .collect();
    assert_eq!(categories, [('1', "complaint"), ('2', "suggestion")]);
}

#[test]
fn every_node_kind_parses() {
    let text = with_nodes(
        r#"[nodes.main]
kind = "menu"
prompt = "main_menu"
timeout_s = 5
retries = 1
on_fail = "bye"
options = [{ key = "1", next = "policy" }, { key = "0", next = "seats" }, { key = "*", next = "info" }]

[nodes.policy]
kind = "collect"
prompt = "enter_policy"
lookup = "receivable_status"
min_digits = 6
max_digits = 12
timeout_s = 5
retries = 2
on_fail = "bye"
next = "main"

[nodes.seats]
kind = "queue"
prompt = "please_hold"
seats = ["8001", "8002", "8003"]
strategy = "longest_idle"
ring_timeout_s = 15
max_wait_s = 90
on_timeout = "main"

[nodes.info]
kind = "play"
prompt = "opening_hours"
next = "main""#,
    );
    let flow = Flow::parse(&text).unwrap();
    let Some(Node::Collect(collect)) = flow.node("policy") else {
        panic!("collect")
    };
    assert_eq!(
        (collect.lookup, collect.end_key, collect.max_digits),
        (Lookup::ReceivableStatus, Key('#'), 12)
    );
    let Some(Node::Queue(queue)) = flow.node("seats") else {
        panic!("queue")
    };
    assert_eq!(
        (queue.seats.len(), queue.strategy),
        (3, RingStrategy::LongestIdle)
    );
    assert_eq!(
        flow.node("bye"),
        Some(&Node::Hangup(Hangup { prompt: None }))
    );
}

#[test]
fn unknown_targets_are_named() {
    let text = with_nodes(
        r#"[nodes.main]
kind = "menu"
prompt = "main_menu"
timeout_s = 5
retries = 1
on_fail = "nowhere"
options = [{ key = "1", next = "sales" }]"#,
    );
    assert_eq!(
        problems(&text),
        [
            r#"node "main": on_fail names node "nowhere", which does not exist"#,
            r#"node "main": next names node "sales", which does not exist"#,
        ]
    );
    let unknown_start = with_nodes("").replace(r#"start = "main""#, r#"start = "welcome""#);
    assert_eq!(
        problems(&unknown_start),
        [r#"start names node "welcome", which does not exist"#]
    );
}

#[test]
fn a_key_used_twice_in_one_node_is_refused() {
    let text = with_nodes(
        r#"[nodes.main]
kind = "language_menu"
prompt = "choose_language"
timeout_s = 5
retries = 1
on_fail = "bye"
options = [
  { key = "1", language = "cmn", next = "bye" },
  { key = "1", language = "en", next = "bye" },
  { key = "3", language = "yue", next = "bye" },
]"#,
    );
    assert_eq!(
        problems(&text),
        [
            r#"node "main": key 1 is used twice"#,
            r#"node "main": language "yue" is not in languages"#,
        ]
    );
}

#[test]
fn a_queue_needs_one_to_eight_distinct_seats() {
    assert_eq!(
        problems(&queue_with_seats(&[])),
        [r#"queue "main" has no seat; give 1 to 8 seats"#]
    );
    let nine: Vec<String> = (1..=9).map(|n| format!("800{n}")).collect();
    let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
    assert_eq!(
        problems(&queue_with_seats(&nine)),
        [r#"queue "main" has 9 seats; a queue rings at most 8"#]
    );
    assert!(Flow::parse(&queue_with_seats(&nine[..8])).is_ok());
    assert_eq!(
        problems(&queue_with_seats(&["8001", "8001"])),
        [r#"queue "main": seat "8001" is listed twice"#]
    );
}

#[test]
fn names_that_are_not_safe_file_names_are_refused() {
    let text = with_nodes(
        r#"[nodes.main]
kind = "play"
prompt = "../../etc/passwd"
next = "bye""#,
    );
    assert_eq!(
        problems(&text),
        [
            r#"prompt "../../etc/passwd" may hold only lower-case letters, digits, - and _ (1 to 64)"#
        ]
    );
}

#[test]
fn digit_counts_and_zero_durations_are_checked() {
    let text = with_nodes(
        r#"[nodes.main]
kind = "collect"
prompt = "enter_pin"
lookup = "rep_results"
min_digits = 6
max_digits = 4
end_key = "5"
timeout_s = 0
retries = 1
on_fail = "bye"
next = "bye""#,
    );
    assert_eq!(
        problems(&text),
        [
            r#"node "main": timeout_s must be at least 1"#,
            r#"node "main": min_digits 6 and max_digits 4 must satisfy 1 ≤ min ≤ max ≤ 32"#,
            r#"node "main": end_key must be * or #, not a digit of the number"#,
        ]
    );
}

#[test]
fn typos_and_unknown_values_are_syntax_errors_with_their_place() {
    let typo = with_nodes("[nodes.main]\nkind = \"play\"\nprompt = \"hi\"\nnxet = \"bye\"");
    let message = syntax_error(&typo);
    assert!(message.contains("unknown field `nxet`"), "{message}");
    let bad_key = with_nodes(
        "[nodes.main]\nkind = \"menu\"\nprompt = \"m\"\ntimeout_s = 5\nretries = 1\non_fail = \"bye\"\noptions = [{ key = \"12\", next = \"bye\" }]",
    );
    let message = syntax_error(&bad_key);
    assert!(message.contains(r#""12" is not a phone key"#), "{message}");
    assert!(message.contains("line"), "{message}");
    let bad_kind = with_nodes("[nodes.main]\nkind = \"transfer\"");
    assert!(syntax_error(&bad_kind).contains("unknown variant `transfer`"));
    let bad_lookup = with_nodes(
        "[nodes.main]\nkind = \"collect\"\nprompt = \"p\"\nlookup = \"weather\"\nmin_digits = 1\nmax_digits = 2\ntimeout_s = 5\nretries = 1\non_fail = \"bye\"\nnext = \"bye\"",
    );
    assert!(syntax_error(&bad_lookup).contains("unknown variant `weather`"));
}

#[test]
fn the_whole_list_of_problems_is_in_the_error_message() {
    let error = Flow::parse(&queue_with_seats(&[]).replace("8000", "80a0")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the flow file has 2 problem(s):\n- number \"80a0\" must be digits only\n- queue \"main\" has no seat; give 1 to 8 seats"
    );
}

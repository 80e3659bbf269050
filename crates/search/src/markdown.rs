//! The readable text of a Markdown article, for the index and for snippets: words without the
//! markup (`**`, `#`, link targets, table pipes), blocks separated by line breaks.

use std::borrow::Cow;

use pulldown_cmark::{Event, Options, Parser, TagEnd};

/// The text a reader sees in `md`; raw HTML is kept as the literal text the renderer shows.
/// Read with the extensions the article page renders with (tables, strikethrough, task lists),
/// so that a table gives its cells, not `| a | b |`.
pub fn markdown_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for event in Parser::new_ext(md, options) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t)
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_),
            ) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// Plain text (a script, a call note) whose lines may be a Markdown table pasted in: a line
/// that starts with `|` loses its pipes (cells separated by spaces), and a `|---|:--:|` rule
/// line goes.
pub fn table_text(text: &str) -> Cow<'_, str> {
    if !text.lines().any(|l| l.trim_start().starts_with('|')) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim();
        if !t.starts_with('|') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
            continue;
        }
        let cells: Vec<&str> = t
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        out.push_str(&cells.join(" "));
        out.push('\n');
    }
    Cow::Owned(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_give_their_cells_not_their_pipes() {
        let md = "价格表：\n\n| 版本 | 价格 |\n|---|---:|\n| 专业版 | 999 |\n";
        let text = super::markdown_text(md);
        assert!(!text.contains('|'), "{text}");
        assert!(text.contains("专业版 999"), "{text}");
        let pasted = super::table_text("备注\n| 版本 | 价格 |\n|:--|--:|\n| 旗舰版 | 1999 |");
        assert_eq!(pasted, "备注\n版本 价格\n旗舰版 1999");
        assert!(matches!(
            super::table_text("a | b"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn markup_is_dropped_and_words_kept() {
        let md = "# 退款政策\n\n**七天**内可[申请](https://x.cn/a)退款。\n\n- 第一条\n- 第二条";
        assert_eq!(
            super::markdown_text(md),
            "退款政策\n七天内可申请退款。\n第一条\n第二条"
        );
    }
}

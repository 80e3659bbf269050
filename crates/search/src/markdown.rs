//! The readable text of a Markdown article, for the index and for snippets: words without the
//! markup (`**`, `#`, link targets), blocks separated by line breaks.

use pulldown_cmark::{Event, Parser, TagEnd};

/// The text a reader sees in `md`; raw HTML is kept as the literal text the renderer shows.
pub fn markdown_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    for event in Parser::new(md) {
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
                | TagEnd::BlockQuote(_),
            ) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_dropped_and_words_kept() {
        let md = "# 退款政策\n\n**七天**内可[申请](https://x.cn/a)退款。\n\n- 第一条\n- 第二条";
        assert_eq!(
            super::markdown_text(md),
            "退款政策\n七天内可申请退款。\n第一条\n第二条"
        );
    }
}

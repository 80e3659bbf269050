//! Markdown to HTML for knowledge articles, safe by construction: raw HTML in the source is shown
//! as text (escaped by the renderer), and link and image targets outside an allow-list of
//! schemes (`javascript:`, `data:`, `vbscript:` …) become `#`. The renderer escapes every text
//! and attribute it writes, so no markup reaches the page except what it generates itself —
//! which is why no HTML sanitiser (ammonia, html5ever) is needed.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Schemes a link or image may use; anything without a scheme is a relative link.
const SAFE_SCHEMES: &[&str] = &["http", "https", "mailto", "tel"];

/// Whether a link target is harmless: relative, or with an allowed scheme. Browsers ignore
/// control characters and spaces inside a scheme (`java\tscript:`), so those are dropped first.
fn safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let end = cleaned.find(['/', '?', '#']).unwrap_or(cleaned.len());
    match cleaned[..end].find(':') {
        None => true,
        Some(i) => SAFE_SCHEMES.contains(&&cleaned[..i]),
    }
}

fn checked(url: CowStr<'_>) -> CowStr<'_> {
    if safe_url(&url) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

/// Renders an article's Markdown (tables, strikethrough, task lists) to HTML that is safe to
/// insert into a page as is.
pub fn render(md: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(md, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: checked(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: checked(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_becomes_html() {
        let html = render(
            "# 标题\n\n**粗体** 和 [链接](https://example.com/a?b=1)\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        );
        assert!(html.contains("<h1>标题</h1>"));
        assert!(html.contains("<strong>粗体</strong>"));
        assert!(html.contains("<a href=\"https://example.com/a?b=1\">链接</a>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render(
            "<script>alert(1)</script>\n\n文字 <img src=x onerror=alert(2)> 和 <b onclick=\"x()\">b</b>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b "), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn dangerous_link_schemes_are_neutralised() {
        for md in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x](java\tscript:alert(1))",
            "<javascript:alert(1)>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "![i](javascript:alert(1))",
            "[x][r]\n\n[r]: vbscript:msgbox(1)",
        ] {
            let html = render(md).to_lowercase();
            for attr in ["href=\"", "src=\""] {
                for target in html.split(attr).skip(1) {
                    let url = target.split('"').next().unwrap_or("");
                    assert!(
                        !url.contains("script:") && !url.starts_with("data:"),
                        "{md} → {html}"
                    );
                }
            }
        }
        assert!(render("[x](/kb/articles/1)").contains("href=\"/kb/articles/1\""));
        assert!(render("[x](mailto:a@b.cn)").contains("href=\"mailto:a@b.cn\""));
    }

    #[test]
    fn attributes_cannot_be_broken_out_of() {
        let html = render("[x](https://a.cn/\"onmouseover=\"alert(1) \"t\\\"itle\")");
        assert!(!html.contains("\" onmouseover"), "{html}");
        assert!(!html.contains("\"onmouseover=\""), "{html}");
    }
}

//! Reading responses and pages as a browser would: redirects and cookies, visible text, tags
//! and attributes, the list table and its counts, and forms submitted as they stand.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response};

use crate::helpers::{Browser, TestApp};

pub(super) fn location(res: &Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

pub(super) fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The session cookie a response sets, as `leadline_session=<value>`, if any (non-empty).
pub(super) fn session_cookie(res: &Response) -> Option<String> {
    set_cookies(res)
        .into_iter()
        .filter_map(|c| c.split(';').next().map(str::to_string))
        .find(|c| c.starts_with("leadline_session=") && c.len() > "leadline_session=".len())
}

/// A browser without a cookie jar; cookies are sent by hand.
pub(super) fn plain_client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(super) async fn submit_login(
    http: &Client,
    app: &TestApp,
    username: &str,
    password: &str,
    next: &str,
) -> Response {
    http.post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

pub(super) async fn get_with_cookie(app: &TestApp, cookie: &str, path: &str) -> Response {
    plain_client()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

/// Decodes the character references askama and browsers use (`&amp;`, `&#38;`, `&#x27;`, …).
pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => entity.strip_prefix('#').and_then(|d| d.parse().ok()),
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The visible text of some HTML, whitespace collapsed.
pub(super) fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The opening tag (`<input ...>`) of the first element carrying `attr` (e.g. `name="cf.x"`).
pub(super) fn open_tag<'a>(html: &'a str, attr: &str) -> Option<&'a str> {
    let at = html.find(attr)?;
    let open = html[..at].rfind('<')?;
    let close = at + html[at..].find('>')?;
    Some(&html[open..=close])
}

/// The inner HTML of the element with this id, up to the first closing tag of its kind.
pub(super) fn by_id<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let tag = open_tag(html, &format!("id=\"{id}\""))?;
    let open = html.find(tag)?;
    let name: String = tag[1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let start = open + tag.len();
    let end = start + html[start..].find(&format!("</{name}>"))?;
    Some(&html[start..end])
}

pub(super) fn text_of(html: &str, id: &str) -> String {
    text(by_id(html, id).unwrap_or_else(|| panic!("no #{id} in the page:\n{html}")))
}

/// An attribute's value in one tag.
pub(super) fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// A boolean attribute (`required`, `checked`, `selected`) in one tag.
pub(super) fn has_flag(tag: &str, flag: &str) -> bool {
    tag.trim_end_matches('>')
        .split_whitespace()
        .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
}

/// Every opening tag of one kind (`option`, `input`) in some HTML.
pub(super) fn tags<'a>(html: &'a str, kind: &str) -> Vec<&'a str> {
    let open = format!("<{kind}");
    html.match_indices(&open)
        .filter(|(i, _)| {
            html[i + open.len()..].starts_with(|c: char| c.is_whitespace() || c == '>')
        })
        .map(|(i, _)| &html[i..=i + html[i..].find('>').unwrap()])
        .collect()
}

/// The names of the leads in the list table, in order.
pub(super) fn lead_names(html: &str) -> Vec<String> {
    let marker = "class=\"lead-link\">";
    html.match_indices(marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            unescape(&rest[..rest.find("</a>").unwrap()])
        })
        .collect()
}

/// A form on a page as a browser would submit it untouched.
#[derive(Debug, Clone)]
pub(super) struct Form {
    pub(super) action: String,
    pub(super) fields: Vec<(String, String)>,
}

impl Form {
    /// The form containing `locator` (e.g. `id="lead-form"` or `action="/tokens"`).
    pub(super) fn find(html: &str, locator: &str) -> Form {
        let at = html
            .find(locator)
            .unwrap_or_else(|| panic!("no form with {locator} in:\n{html}"));
        let start = html[..=at].rfind("<form").expect("inside a form");
        let end = at + html[at..].find("</form>").expect("a closed form");
        let body = &html[start..end];
        let head = &body[..=body.find('>').unwrap()];
        let mut fields = Vec::new();
        let mut rest = &body[head.len()..];
        while let Some(i) = rest.find('<') {
            rest = &rest[i..];
            let tag_end = rest.find('>').unwrap();
            let tag = &rest[..=tag_end];
            let kind: String = tag[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let name = attr(tag, "name");
            match (kind.as_str(), name) {
                ("input", Some(name)) => {
                    let ty = attr(tag, "type").unwrap_or_else(|| "text".into());
                    let value = attr(tag, "value");
                    match ty.as_str() {
                        "checkbox" | "radio" => {
                            if has_flag(tag, "checked") {
                                fields.push((name, value.unwrap_or_else(|| "on".into())));
                            }
                        }
                        "submit" | "button" => {}
                        _ => fields.push((name, value.unwrap_or_default())),
                    }
                }
                ("textarea", Some(name)) => {
                    let inner = &rest[tag.len()..];
                    let content = &inner[..inner.find("</textarea>").unwrap()];
                    fields.push((name, unescape(content)));
                }
                ("select", Some(name)) => {
                    let inner = &rest[tag.len()..];
                    let options = &inner[..inner.find("</select>").unwrap()];
                    let tags: Vec<&str> = options
                        .match_indices("<option")
                        .map(|(j, _)| &options[j..=j + options[j..].find('>').unwrap()])
                        .collect();
                    let chosen = tags
                        .iter()
                        .find(|t| has_flag(t, "selected"))
                        .or(tags.first());
                    if let Some(t) = chosen {
                        fields.push((name, attr(t, "value").unwrap_or_default()));
                    }
                }
                _ => {}
            }
            rest = &rest[tag_end + 1..];
        }
        Form {
            action: attr(head, "action").expect("a form action"),
            fields,
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a field to one value, replacing whatever the page had.
    pub(super) fn set(&mut self, name: &str, value: &str) -> &mut Form {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    /// Adds one more value (a further checked box).
    pub(super) fn add(&mut self, name: &str, value: &str) -> &mut Form {
        self.fields.push((name.into(), value.into()));
        self
    }

    pub(super) fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub(super) async fn submit(&self, browser: &Browser) -> Response {
        browser.post_form(&self.action, &self.pairs()).await
    }
}

/// The id at the end of a `/leads/{id}` redirect.
pub(super) fn lead_id_from(location: &str) -> i64 {
    location
        .strip_prefix("/leads/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a lead page: {location:?}"))
}

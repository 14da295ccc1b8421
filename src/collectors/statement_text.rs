//! Statement texts fit for a label: the secrets PostgreSQL recorded in them
//! redacted, whitespace collapsed, cut to length.

/// A statement text fit for a label: secrets PostgreSQL recorded in it
/// replaced by `***` (see [`redact_secrets`]), runs of whitespace (newlines
/// included) collapsed to one space, control characters dropped, cut at
/// `max_chars` characters.
pub fn collapse_query(text: &str, max_chars: usize) -> String {
    let text = &*redact_secrets(text);
    let mut out = String::with_capacity(max_chars.min(text.len()));
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space {
            if chars + 1 >= max_chars {
                break;
            }
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        if chars >= max_chars {
            break;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// A statement text with the secrets it may carry replaced by `***`: the
/// literal after `PASSWORD` (`CREATE ROLE`, `ALTER USER … PASSWORD '…'`), the
/// value of a `password=` (or `passwd`, `pwd`) connection parameter
/// (`dblink_connect('host=… password=…')`, `CREATE USER MAPPING … OPTIONS
/// (password '…')`) and the password of a URI (`postgresql://user:…@host`).
/// A literal cut off by PostgreSQL's `track_activity_query_size` is redacted
/// up to the end of the text.
pub fn redact_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    use std::sync::OnceLock;
    static SECRETS: OnceLock<regex::Regex> = OnceLock::new();
    let secrets = SECRETS.get_or_init(|| {
        regex::Regex::new(concat!(
            // A quoted value after the keyword, with or without `=`.
            r"(?is)(?P<keep>\b(?:password|passwd|pwd)\b(?:\s*=\s*|\s+))",
            r"(?:'(?:[^']|'')*(?:'|$)|\x22[^\x22]*(?:\x22|$))",
            // A bare value after `keyword=`, as in a connection string.
            r"|(?P<bare>\b(?:password|passwd|pwd)\s*=\s*)[^\s'\x22,;)&]+",
            // user:password@ in a URI.
            r"|(?P<uri>[a-z][a-z0-9+.-]*://[^\s:/@'\x22]*:)[^\s@'\x22]*@",
        ))
        .expect("secret patterns compile")
    });
    secrets.replace_all(text, |caps: &regex::Captures| {
        match (caps.name("keep").or(caps.name("bare")), caps.name("uri")) {
            (Some(keep), _) => format!("{}***", keep.as_str()),
            (None, Some(uri)) => format!("{}***@", uri.as_str()),
            (None, None) => unreachable!("one of the alternatives matched"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_statement_texts_are_redacted() {
        for (text, redacted) in [
            (
                "ALTER ROLE app PASSWORD 'Sup3r''s3cret!'",
                "ALTER ROLE app PASSWORD ***",
            ),
            (
                "create user x with encrypted password 'p w'",
                "create user x with encrypted password ***",
            ),
            (
                "ALTER USER \"a\" WITH PASSWORD \"x\"",
                "ALTER USER \"a\" WITH PASSWORD ***",
            ),
            (
                "SELECT dblink_connect('host=db password=hunter2 user=a')",
                "SELECT dblink_connect('host=db password=*** user=a')",
            ),
            (
                "OPTIONS (user 'a', password 'b')",
                "OPTIONS (user 'a', password ***)",
            ),
            (
                "SELECT 'postgresql://app:s3cret@db:5432/x'",
                "SELECT 'postgresql://app:***@db:5432/x'",
            ),
            // PostgreSQL cut the text inside the literal.
            (
                "ALTER ROLE app PASSWORD 'half-of-the-sec",
                "ALTER ROLE app PASSWORD ***",
            ),
            // Not secrets.
            (
                "SELECT password_hash FROM users WHERE id = 1",
                "SELECT password_hash FROM users WHERE id = 1",
            ),
            ("SELECT password FROM users", "SELECT password FROM users"),
            (
                "SELECT 'http://example.com/a'",
                "SELECT 'http://example.com/a'",
            ),
        ] {
            assert_eq!(redact_secrets(text), redacted, "{text}");
        }
        assert_eq!(
            collapse_query("ALTER ROLE a\n  PASSWORD\n 'x y'", 100),
            "ALTER ROLE a PASSWORD ***"
        );
    }

    #[test]
    fn query_text_is_collapsed_and_cut() {
        assert_eq!(
            collapse_query("  SELECT\n\t1,\r\n  2  ", 100),
            "SELECT 1, 2"
        );
        assert_eq!(collapse_query("SELECT \u{1}x", 100), "SELECT x");
        assert_eq!(collapse_query("abcdef", 3), "abc");
        assert_eq!(collapse_query("ab cdef", 3), "ab");
        assert_eq!(collapse_query("ünïcödé", 4), "ünïc");
        assert_eq!(
            collapse_query(&"x ".repeat(1_000_000), 100).chars().count(),
            99
        );
    }
}

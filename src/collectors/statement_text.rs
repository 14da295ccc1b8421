//! Statement texts fit for a label: literals masked, comments dropped, role
//! statements cut to their command, whitespace collapsed, cut to length.
//!
//! PostgreSQL replaces constants by `$1`, `$2`… only in the texts of planned
//! statements; utility statements (`CREATE ROLE … PASSWORD '…'`,
//! `ALTER SYSTEM`, `COPY`, `DO`…), and every text in `pg_stat_activity`, keep
//! whatever the client sent. So every text is masked here, before it can
//! become a label: no literal, number or comment of a statement is exported.

/// What a masked literal or number becomes.
const MASK: &str = "?";

/// A statement text fit for a label: see [`mask_statement`]; runs of
/// whitespace (newlines included) collapsed to one space, control characters
/// dropped, cut at `max_chars` characters (0: no text).
pub fn collapse_query(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    let text = &*mask_statement(text);
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

/// A statement text with nothing secret left in it: string literals
/// (`'…'`, `E'…'`, `$tag$…$tag$`, cut-off ones up to the end) and numbers
/// replaced by `?`, comments dropped, and the text of a statement about roles
/// or user mappings (which may carry a password) cut to its first two words,
/// such as `CREATE ROLE`. Quoted identifiers and `$1` parameters are kept.
pub fn mask_statement(text: &str) -> String {
    let masked = mask_literals(text);
    let words: Vec<&str> = masked.split_whitespace().take(3).collect();
    let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
    let about_roles = matches!(upper(0).as_deref(), Some("CREATE" | "ALTER"))
        && (matches!(
            upper(1).as_deref(),
            Some("ROLE" | "USER" | "GROUP" | "SERVER")
        ) || upper(2).as_deref() == Some("MAPPING"));
    if about_roles {
        return format!("{} {}", words[0], words[1]);
    }
    masked
}

/// [`mask_statement`]'s lexer: one pass over the text.
fn mask_literals(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    let mut i = 0;
    // Copies unremarkable text in runs, up to the next byte that may start
    // something (all ASCII, so every cut is on a character boundary).
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let previous_is_word = i > 0 && is_word(bytes[i - 1]);
        let skip_to = match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                Some((text[i..].find('\n').map_or(bytes.len(), |n| i + n), " "))
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => Some((block_comment_end(bytes, i), " ")),
            b'\'' => {
                // E'…' reads backslash escapes; B'…', X'…', N'…' are prefixes too.
                let prefix = i > 0
                    && matches!(bytes[i - 1].to_ascii_uppercase(), b'E' | b'B' | b'X' | b'N')
                    && !(i > 1 && is_word(bytes[i - 2]));
                let escapes = prefix && bytes[i - 1].eq_ignore_ascii_case(&b'E');
                out.push_str(&text[copied..i - usize::from(prefix)]);
                copied = i;
                Some((quoted_end(bytes, i, escapes), MASK))
            }
            b'"' => {
                // A quoted identifier: kept as it is.
                let end = quoted_end(bytes, i, false);
                i = end;
                continue;
            }
            b'$' if !previous_is_word => dollar_quote_end(bytes, i).map(|end| (end, MASK)),
            b'0'..=b'9' if !previous_is_word => {
                let mut end = i;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric()
                        || bytes[end] == b'_'
                        || bytes[end] == b'.'
                        || (matches!(bytes[end], b'+' | b'-')
                            && bytes[end - 1].eq_ignore_ascii_case(&b'e')
                            && !bytes[i..end].iter().any(|b| b.eq_ignore_ascii_case(&b'x'))))
                {
                    end += 1;
                }
                Some((end, MASK))
            }
            _ => None,
        };
        match skip_to {
            Some((end, replacement)) => {
                out.push_str(&text[copied..i.max(copied)]);
                out.push_str(replacement);
                i = end;
                copied = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied.min(bytes.len())..]);
    out
}

/// Where the quoted text starting at `start` (a `'` or `"`) ends: after its
/// closing quote (a doubled quote is part of the text; with `escapes`, so is
/// a quote after a backslash), or at the end of a text cut off inside it.
fn quoted_end(bytes: &[u8], start: usize, escapes: bool) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Where the `/* … */` comment starting at `start` ends (comments nest).
fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Where the dollar-quoted string starting at `start` ends (after its closing
/// tag, or at the end of a cut-off text); `None` when the `$` starts no such
/// string (a `$1` parameter).
fn dollar_quote_end(bytes: &[u8], start: usize) -> Option<usize> {
    let tag_len = bytes[start + 1..]
        .iter()
        .position(|&b| b == b'$')
        .filter(|&n| {
            let tag = &bytes[start + 1..start + 1 + n];
            tag.first().is_none_or(|b| !b.is_ascii_digit())
                && tag
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
        })?;
    let tag = &bytes[start..start + tag_len + 2];
    let body = start + tag.len();
    Some(
        bytes[body..]
            .windows(tag.len())
            .position(|w| w == tag)
            .map_or(bytes.len(), |n| body + n + tag.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_comments_and_role_statements_are_masked() {
        for (text, masked) in [
            ("ALTER ROLE app PASSWORD 'Sup3r''s3cret!'", "ALTER ROLE"),
            ("create user x with encrypted password 'p w'", "create user"),
            (
                "  /* c */ ALTER USER MAPPING FOR a SERVER s OPTIONS (password 'b')",
                "ALTER USER",
            ),
            (
                "CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (password 'b')",
                "CREATE SERVER",
            ),
            (
                "SELECT dblink_connect('host=db password=hunter2')",
                "SELECT dblink_connect(?)",
            ),
            (
                "SELECT * FROM t WHERE a = 'x''y' AND b = E'\\'z\\'' AND c = 1",
                "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?",
            ),
            ("SELECT 1.5e-3, 0x1F, 1_000, .5", "SELECT ?, ?, ?, .?"),
            (
                "SELECT $$a 'b' c$$, $x$ $$ $x$, $1, t1.c2, \"My 'col' 42\"",
                "SELECT ?, ?, $1, t1.c2, \"My 'col' 42\"",
            ),
            (
                "SELECT 1 -- 'secret'\n, 2 /* 'x' /* nested */ 3 */",
                "SELECT ?  \n, ?  ",
            ),
            ("SELECT x'1F', b'01', n'ab', e'\\n'", "SELECT ?, ?, ?, ?"),
            // PostgreSQL cut the text inside a literal, a comment, a string.
            ("UPDATE t SET k = 'half-of-the-sec", "UPDATE t SET k = ?"),
            ("SELECT 1 /* open", "SELECT ?  "),
            ("DO $body$ BEGIN PERFORM 'x", "DO ?"),
            ("SELECT 'ünï' || café_2", "SELECT ? || café_2"),
        ] {
            assert_eq!(mask_statement(text), masked, "{text}");
        }
        assert_eq!(
            collapse_query("ALTER ROLE a\n  PASSWORD\n 'x y'", 100),
            "ALTER ROLE"
        );
        assert_eq!(collapse_query("SELECT 'x'", 0), "");
    }

    #[test]
    fn query_text_is_collapsed_and_cut() {
        assert_eq!(
            collapse_query("  SELECT\n\ta,\r\n  b  ", 100),
            "SELECT a, b"
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

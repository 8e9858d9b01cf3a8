//! Text from inputs (tag values, names, rule, suppression and config files, paths) made safe to
//! print: on a terminal or in a CI log, in Markdown and HTML, and in XML. JSON, SARIF, OCSF and
//! CSV carry values exactly (they are data) and do not pass through here.
//!
//! Whoever sets a tag value on an audited cache controls what ecaudit prints. Raw, an ESC starts
//! a terminal escape sequence (retitle the window, clear the screen, fake a hyperlink), a CR or BS
//! overwrites what came before, a newline starts a fresh line (`\n::error ::x` is a GitHub Actions
//! workflow command), and bidi controls or zero-width characters make one name look like another.
//! These functions show such characters as escapes (`\u{1b}`, `\n`) instead.

use std::borrow::Cow;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Characters of a value kept in a table cell; the rest is cut with an ellipsis, so a long token
/// costs the table (whose wrapping is quadratic in a word's length) a bounded time.
pub const CELL_CHARS: usize = 200;

/// Invisible or line-breaking: format characters (bidi controls, zero-width characters, soft
/// hyphen: all of category Cf) and the Unicode line and paragraph separators.
fn invisible(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
    )
}

/// Shown escaped on a terminal or in a log: every control character but tab (C0 with newline and
/// CR, DEL, C1), and every invisible one (format characters, line and paragraph separators).
pub fn hidden_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\t') || invisible(c)
}

/// Shown escaped in Markdown and HTML, where tab, newline and CR are left to the format's own
/// escaping (a `<br>`, a character reference).
pub fn hidden_in_markup(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || invisible(c)
}

/// `s` for a terminal or a log line: hidden characters as escapes (`\u{1b}`, `\n`, `\u{202e}`),
/// so the value stays on its line and shows what it holds. Clean text is not copied.
pub fn terminal(s: &str) -> Cow<'_, str> {
    escape(s, hidden_on_terminal, usize::MAX)
}

/// [`terminal`] cut to [`CELL_CHARS`] characters (escapes counted as written), with an
/// ellipsis: a value for a table cell.
pub fn cell(s: &str) -> Cow<'_, str> {
    escape(s, hidden_on_terminal, CELL_CHARS)
}

/// A value quoted in a message: as in a [`cell`] (escaped, at most [`CELL_CHARS`] characters)
/// and, when cut, followed by its length, so no message echoes a whole input.
pub fn excerpt(s: &str) -> String {
    let shown = cell(s);
    let width: usize = s
        .chars()
        .map(|c| {
            if hidden_on_terminal(c) {
                c.escape_default().count()
            } else {
                1
            }
        })
        .sum();
    if width > CELL_CHARS {
        format!("{shown} ({} bytes)", s.len())
    } else {
        shown.into_owned()
    }
}

/// `s` for Markdown or HTML before the format's own escaping: control and invisible characters
/// as escapes; tab, newline and CR kept.
pub fn markup(s: &str) -> Cow<'_, str> {
    escape(s, hidden_in_markup, usize::MAX)
}

/// `s` escaped where `hide` says, at most `max` characters written (then `…`).
fn escape(s: &str, hide: fn(char) -> bool, max: usize) -> Cow<'_, str> {
    let mut n = 0;
    if s.chars().all(|c| {
        n += 1;
        n <= max && !hide(c)
    }) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(max.saturating_mul(4)) + 8);
    let mut written = 0;
    for c in s.chars() {
        let escaped = hide(c).then(|| c.escape_default());
        let width = escaped.clone().map_or(1, Iterator::count);
        if written + width > max {
            out.push('…');
            break;
        }
        written += width;
        match escaped {
            Some(e) => out.extend(e),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether XML 1.0 can hold `c` and it is not discouraged there: tab, newline, CR and
/// everything from space up, but DEL, the C1 controls and the noncharacters U+FFFE and U+FFFF.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
}

/// `s` as XML 1.0 text or attribute value (before the writer escapes markup): every character it
/// forbids (C0 controls but tab, newline and CR; U+FFFE, U+FFFF) or discourages (DEL, C1)
/// replaced with U+FFFD, so any input gives a well-formed document.
pub fn xml(s: &str) -> Cow<'_, str> {
    if s.chars().all(xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if xml_char(c) { c } else { '\u{fffd}' })
                .collect(),
        )
    }
}

/// A log stream (standard error under `-v`): each write, which the log formatter makes once per
/// event, escaped as on a terminal but for its final newline, so a field value that holds a
/// newline or an escape sequence (an account name, an AWS error message) stays on its line.
pub struct LogStream<W>(pub W);

impl<W: std::io::Write> std::io::Write for LogStream<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let line = format!("{}{end}", terminal(body));
        self.0.write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_event_stays_on_its_line() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || LogStream(writer.clone()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(account = %"a\n::error ::x\u{1b}]0;t\u{7}\u{202e}", "unit read");
            tracing::info!("second");
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].contains(r"a\n::error ::x\u{1b}]0;t\u{7}\u{202e}"),
            "{out}"
        );
        assert!(
            out.chars().all(|c| c == '\n' || !hidden_on_terminal(c)),
            "{out:?}"
        );
    }

    #[test]
    fn terminal_text_shows_controls_and_invisible_characters_as_escapes() {
        assert_eq!(terminal("\u{1b}]0;pwned\u{7}x"), "\\u{1b}]0;pwned\\u{7}x");
        assert_eq!(terminal("x\n::error ::boom\r"), "x\\n::error ::boom\\r");
        assert_eq!(
            terminal("a\u{8}\u{7f}\u{85}\u{9b}b"),
            "a\\u{8}\\u{7f}\\u{85}\\u{9b}b"
        );
        assert_eq!(
            terminal("\u{202e}\u{2066}\u{200b}\u{200d}\u{2060}\u{feff}\u{61c}\u{200e}\u{ad}\u{2028}"),
            "\\u{202e}\\u{2066}\\u{200b}\\u{200d}\\u{2060}\\u{feff}\\u{61c}\\u{200e}\\u{ad}\\u{2028}"
        );
        assert_eq!(terminal("tab\tstays, é ✔ 日本"), "tab\tstays, é ✔ 日本");
        assert!(matches!(terminal("clean"), Cow::Borrowed("clean")));
    }

    #[test]
    fn markup_keeps_line_breaks_for_the_format_to_escape() {
        assert_eq!(markup("a\nb\r\tc\u{1b}\u{202e}"), "a\nb\r\tc\\u{1b}\\u{202e}");
        assert!(matches!(markup("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis() {
        let long = "a".repeat(1 << 20);
        let c = cell(&long);
        assert_eq!(c.chars().count(), CELL_CHARS + 1);
        assert!(c.ends_with("a…"));
        assert!(matches!(cell(&"a".repeat(CELL_CHARS)), Cow::Borrowed(_)));
        // An escape is never cut in half.
        let escape_at_the_end = format!("{}\u{1b}", "a".repeat(CELL_CHARS - 3));
        assert_eq!(
            cell(&escape_at_the_end),
            format!("{}…", "a".repeat(CELL_CHARS - 3))
        );
    }

    #[test]
    fn xml_text_holds_only_what_xml_allows() {
        assert_eq!(
            xml("a\u{1}b\tc\u{7f}é\u{fffe}\u{ffff}\u{85}\n"),
            "a\u{fffd}b\tc\u{fffd}é\u{fffd}\u{fffd}\u{fffd}\n"
        );
        assert!(matches!(xml("plain \u{202e}"), Cow::Borrowed(_)));
    }
}

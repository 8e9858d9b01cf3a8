//! Report templates: `reports/` is embedded in the binary and `--template FILE` replaces it.
//! Rendered with minijinja, every value escaped for the output format: HTML entities in HTML,
//! inert Markdown in Markdown (text from AWS is untrusted: a tag value must not become markup).

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;
use minijinja::{AutoEscape, Environment, HtmlEscape, Output, State, Value, escape_formatter};
use sha2::{Digest, Sha256};

use super::audit::AuditReport;

/// The bundled HTML template, its stylesheet and its script.
pub const HTML: &str = include_str!("../../reports/report.html.j2");
pub const STYLE: &str = include_str!("../../reports/report.css");
pub const SCRIPT: &str = include_str!("../../reports/report.js");
/// The bundled Markdown template.
pub const MARKDOWN: &str = include_str!("../../reports/report.md.j2");

/// Formats of the audit report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained HTML file (no external resources), printable to PDF.
    Html,
    /// The same report in Markdown, for wikis and tickets.
    Markdown,
}

impl ReportFormat {
    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Markdown => "markdown",
        }
    }
}

/// A template that cannot be used (exit code 2), found before any AWS call.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: cannot read template: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

/// A compiled report template.
pub struct Template {
    format: ReportFormat,
    /// The file it came from, or `reports/…` for the bundled one.
    file: String,
    env: Environment<'static>,
}

const NAME: &str = "report";

impl Template {
    /// The bundled template of `format`.
    pub fn bundled(format: ReportFormat) -> Self {
        let (file, source) = match format {
            ReportFormat::Html => ("reports/report.html.j2", HTML),
            ReportFormat::Markdown => ("reports/report.md.j2", MARKDOWN),
        };
        Self::compile(format, file.to_string(), source.to_string()).expect("bundled template compiles")
    }

    /// `path`'s template, or the bundled one; compiled now so a bad template fails before a scan.
    pub fn load(format: ReportFormat, path: Option<&Path>) -> Result<Self, TemplateError> {
        let Some(path) = path else {
            return Ok(Self::bundled(format));
        };
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            file: file.clone(),
            source,
        })?;
        Self::compile(format, file, source)
    }

    fn compile(format: ReportFormat, file: String, source: String) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("default delimiters"),
        );
        // A typo in a template is an error, not an empty string in a security report.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(move |_| match format {
            ReportFormat::Html => AutoEscape::Html,
            ReportFormat::Markdown => AutoEscape::Custom("markdown".into()),
        });
        env.set_formatter(format_value);
        env.add_filter("pct", |v: f64| format!("{v:.1}"));
        // Remediation texts mark commands and ids as `code`: shown as code, the rest escaped.
        env.add_filter("code_spans", move |v: String| code_spans(&v, format));
        // JSON text of a value (drift's before and after), escaped like any other string.
        env.add_filter("json", |v: Value| {
            serde_json::to_string(&v)
                .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))
        });
        env.add_template_owned(NAME, source)
            .map_err(|e| invalid(&file, &e))?;
        Ok(Template { format, file, env })
    }

    pub fn format(&self) -> ReportFormat {
        self.format
    }

    /// Renders `report` into `out`.
    pub fn render(&self, report: &AuditReport, out: &mut dyn Write) -> Result<(), TemplateError> {
        let template = self.env.get_template(NAME).map_err(|e| invalid(&self.file, &e))?;
        let ctx = minijinja::context! {
            report => Value::from(minijinja::value::Serde(report)),
            style => Value::from_safe_string(STYLE.to_string()),
            script => Value::from_safe_string(SCRIPT.to_string()),
            csp => Value::from_safe_string(content_security_policy()),
        };
        template
            .render_captured_to(ctx, out)
            .map(|_| ())
            .map_err(|e| invalid(&self.file, &e))
    }
}

fn invalid(file: &str, e: &minijinja::Error) -> TemplateError {
    TemplateError::Invalid {
        file: file.to_string(),
        line: e.line().unwrap_or(0),
        message: match e.detail() {
            Some(detail) => format!("{}: {detail}", e.kind()),
            None => e.kind().to_string(),
        },
    }
}

/// The page's Content-Security-Policy: nothing may load from anywhere, and the only stylesheet
/// and script that apply are the bundled ones (by their hashes), so markup that slipped into a
/// value would stay inert and unstyled.
pub fn content_security_policy() -> String {
    use base64::Engine;
    let hash = |text: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src data:; script-src 'sha256-{}'; base-uri 'none'; form-action 'none'",
        hash(STYLE),
        hash(SCRIPT)
    )
}

/// Writes a value: `none` as nothing; strings escaped for the template's format.
fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), minijinja::Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    match state.auto_escape() {
        AutoEscape::Custom(name) if name == "markdown" => if value.is_safe() {
            write!(out, "{value}")
        } else {
            write!(out, "{}", super::common::inert(&value.to_string(), usize::MAX))
        }
        .map_err(write_failure),
        AutoEscape::Html if !value.is_safe() => {
            write!(out, "{}", html(&value.to_string())).map_err(write_failure)
        }
        _ => escape_formatter(out, state, value),
    }
}

/// `text` with its `backtick` spans as code and everything else escaped for `format`: a safe
/// value. An unmatched backtick stays a literal one.
fn code_spans(text: &str, format: ReportFormat) -> Value {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len() + 32);
    for (i, part) in parts.iter().enumerate() {
        // Odd parts are inside a span, when the span closes.
        let code = i % 2 == 1 && i + 1 < parts.len();
        let unmatched = i % 2 == 1 && !code;
        match (format, code) {
            (ReportFormat::Html, true) => out.push_str(&format!("<code>{}</code>", html(part))),
            (ReportFormat::Html, false) => {
                if unmatched {
                    out.push('`');
                }
                out.push_str(&html(part));
            }
            // Markdown: a code span holds no line break; its text is literal there.
            (ReportFormat::Markdown, true) => out.push_str(&format!(
                "`{}`",
                crate::text::markup(&part.replace(['\n', '\r'], " "))
            )),
            (ReportFormat::Markdown, false) => {
                if unmatched {
                    out.push_str("\\`");
                }
                // Spaces after a code span are inside a line: written as they are, not as the
                // character references `inert` gives a value's leading spaces.
                let rest = match i {
                    0 => part,
                    _ => part.trim_start_matches(' '),
                };
                out.push_str(&part[..part.len() - rest.len()]);
                out.push_str(&super::common::inert(rest, usize::MAX));
            }
        }
    }
    Value::from_safe_string(out)
}

fn write_failure(e: std::fmt::Error) -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
}

/// Input text as HTML: control, bidi and zero-width characters shown as escapes, markup
/// escaped, and line breaks as character references (rendered the same) so a value's next line
/// never starts a line of the file.
fn html(s: &str) -> String {
    HtmlEscape(&crate::text::markup(s))
        .to_string()
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_values_are_inert_and_safe_strings_are_not_escaped() {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Custom("markdown".into()));
        env.set_formatter(format_value);
        env.add_template("t", "{{ v }}|{{ s }}|{{ n }}").unwrap();
        let out = env
            .get_template("t")
            .unwrap()
            .render(minijinja::context! {
                v => "<script>*x*</script> @team",
                s => Value::from_safe_string("**bold**".into()),
                n => Value::from(()),
            })
            .unwrap();
        assert_eq!(
            out,
            "&lt;script&gt;\\*x\\*&lt;/script&gt; @\u{2060}team|**bold**|"
        );
    }

    #[test]
    fn html_values_show_invisible_characters_and_keep_to_their_line() {
        assert_eq!(
            html("<b>\u{202e}evil\u{200b}\u{1b}[2J</b>\n::error ::x\r"),
            "&lt;b&gt;\\u{202e}evil\\u{200b}\\u{1b}[2J&lt;&#x2f;b&gt;&#10;::error ::x&#13;"
        );
    }
}

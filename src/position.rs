//! Positions in input text, for errors that point at the file, line and column at fault.

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// A parser's message without its trailing " at line L, column C" (with or without the comma):
/// the position is reported in file coordinates instead.
pub fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_in_characters() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 3), (2, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
        assert_eq!(
            line_column("éx", 2),
            (1, 2),
            "columns count characters, not bytes"
        );
    }

    #[test]
    fn strips_a_trailing_position() {
        assert_eq!(
            strip_position("missing field `a` at line 3 column 7"),
            "missing field `a`"
        );
        assert_eq!(
            strip_position("unknown field `b` at line 4, column 5"),
            "unknown field `b`"
        );
        assert_eq!(strip_position("no position"), "no position");
    }
}

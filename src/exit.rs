//! Exit codes, as documented in the README: what every command ends with.

/// Nothing at or above `--fail-on` failed.
pub const OK: u8 = 0;
/// Findings at or above `--fail-on` failed.
pub const FINDINGS: u8 = 1;
/// Usage, config, rule-file or inventory error.
pub const USAGE: u8 = 2;
/// The scan was incomplete (coverage gaps or undecidable findings) and `--allow-partial`
/// was not given.
pub const INCOMPLETE: u8 = 3;

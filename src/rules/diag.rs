//! Diagnostics for rule files: a stable kebab-case code per kind of mistake, and the file, line
//! and rule id at fault. Codes are documented in `docs/diagnostics.md`; a test keeps them unique.

use std::fmt;

macro_rules! codes {
    ($($variant:ident = $code:literal : $desc:literal,)*) => {
        /// What is wrong with a rule file.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $desc,)* }
            }
        }
    };
}

codes! {
    Io = "io": "a rule file or directory could not be read",
    NoRuleFiles = "no-rule-files": "a rules directory holds no rule file (*.yaml, *.yml)",
    YamlSyntax = "yaml-syntax": "the file is not valid YAML",
    UnknownField = "unknown-field": "a rule (or the file) has a key ecaudit does not know",
    MissingField = "missing-field": "a required key (id, title, severity, applies_to, remediation) is missing",
    InvalidValue = "invalid-value": "a key has a value of the wrong type",
    BadId = "bad-id": "a rule id is not kebab-case (lowercase letters, digits, single hyphens)",
    DuplicateId = "duplicate-id": "two rules have the same id",
    OverrideRefused = "override-refused": "a user rule has a bundled rule's id while replacing bundled rules is refused (--no-override)",
    BadSeverity = "bad-severity": "severity is not one of critical, high, medium, low, info",
    BadKind = "bad-kind": "applies_to names something other than replication_group, cache_cluster, serverless_cache",
    CheckForm = "check-form": "a rule needs exactly one of `check` and `violations`",
    CelSyntax = "cel-syntax": "an expression is not valid CEL",
    CelTooDeep = "cel-too-deep": "an expression nests deeper than CEL's parser allows",
    CelTooCostly = "cel-too-costly": "an expression's static cost bound is over the limit (comprehensions nested more than 4 deep over facts, more than 1,000,000 iterations over literal lists and ranges, `lists.range` without a literal count, `replace` growing a string more than 65,536 times)",
    UnknownFunction = "unknown-function": "an expression calls a function CEL and ecaudit do not define",
    UnknownVariable = "unknown-variable": "an expression names a variable other than d, params, now or a comprehension variable",
    UnknownFieldRef = "unknown-fact": "an expression reads a field the inventory does not have",
    UnknownParam = "unknown-param": "an expression reads params.X but the rule declares no param X",
    BadParam = "bad-param": "a param is not a scalar or a list of scalars",
    UnknownFramework = "unknown-framework": "controls names a framework ecaudit does not know",
    EmptyText = "empty-text": "title, remediation or fail_message is empty",
    BadCase = "bad-case": "a rule's test case is malformed: an unknown outcome, param or kind, a bad `now`, a fact of the wrong type, a case in a test file naming no rule of its rule file",
    CaseUnknownFact = "case-unknown-fact": "a test case's deployment has a fact the inventory does not have",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in one rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    /// The file at fault (`bundled:<name>` for the embedded pack).
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub column: usize,
    /// The rule concerned, when known.
    pub rule_id: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": error[{}]", self.code)?;
        if let Some(id) = &self.rule_id {
            write!(f, ": rule `{id}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found while loading rules; loading reports them all, not just the first.
#[derive(Debug, thiserror::Error)]
pub struct RuleErrors(pub Vec<Diagnostic>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case_and_described() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert!(
                code.as_str()
                    .split('-')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase())),
                "{code} is not kebab-case"
            );
            assert!(!code.description().is_empty());
        }
    }

    #[test]
    fn every_code_is_documented() {
        let docs = include_str!("../../docs/diagnostics.md");
        for code in Code::ALL {
            assert!(
                docs.contains(&format!("`{code}`")),
                "docs/diagnostics.md does not document {code}"
            );
        }
    }
}

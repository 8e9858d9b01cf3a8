//! Rules: the rule-file model, loading and validation (every problem reported with file, line and
//! rule id before anything is evaluated), CEL compilation, and the bundled pack.

pub(crate) mod check;
mod compile;
pub mod cost;
pub mod diag;
mod file;
pub mod functions;
mod overrides;
pub mod pack;
pub mod params;
pub mod reference;
mod severity;
pub mod testing;
mod to_cel;
pub(crate) mod view;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cel::Env;

use crate::inventory::DeploymentKind;
use diag::{Code, Diagnostic, RuleErrors};
use serde_saphyr::Spanned;

pub use check::{CEL_FUNCTIONS, ROOT_VARIABLES};
pub use overrides::{LoadOptions, Override, modified_pack_version};
pub use severity::{Severity, UnknownSeverity};

/// Control frameworks a rule may map to, with their display names.
pub const FRAMEWORKS: &[(&str, &str)] = &[
    ("aws-fsbp", "AWS Foundational Security Best Practices"),
    ("aws-config", "AWS Config managed rules"),
    ("nist-800-53", "NIST SP 800-53 Rev. 5"),
    ("pci-dss-4.0", "PCI DSS 4.0"),
    ("soc2", "SOC 2 Trust Services Criteria"),
    ("iso-27001-2022", "ISO/IEC 27001:2022"),
];

/// The CEL environment rules are compiled and run in: the standard library, the strings, lists
/// and math extensions, and ecaudit's functions. Built once per process.
pub fn cel_env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings)
            .expect("strings extension");
        env.add_extension(cel::extensions::lists)
            .expect("lists extension");
        env.add_extension(cel::extensions::math).expect("math extension");
        functions::register(&mut env).expect("ecaudit functions");
        Arc::new(env)
    })
    .clone()
}

/// A compiled CEL expression with its source.
pub struct Expr {
    pub source: String,
    /// The compiled AST with every comprehension step drawing on the evaluation budget
    /// ([`cost::with_budget`]): what is evaluated.
    pub(crate) budgeted: cel::common::ast::IdedExpr,
    /// Where `source` starts in its rule file.
    pub(crate) origin: compile::Origin,
}

impl Expr {
    /// The rule file's line and column of character `offset` of `source`.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        compile::file_position(&self.source, offset, self.origin)
    }
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

/// How a rule decides.
#[derive(Debug)]
pub enum Test {
    /// A boolean: true passes.
    Check(Expr),
    /// A list of evidence strings: empty passes, each string is a violation.
    Violations(Expr),
}

/// Where a rule was defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file (`bundled:<name>` for the embedded pack).
    pub file: String,
    pub line: usize,
    pub bundled: bool,
}

/// A validated rule, ready to evaluate.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Effective severity (after configuration).
    pub severity: Severity,
    /// Severity as the rule file sets it.
    pub default_severity: Severity,
    pub applies_to: Vec<DeploymentKind>,
    pub when: Option<Expr>,
    pub test: Test,
    /// Facts that explain a failure (evaluated for failing findings).
    pub evidence: Option<Expr>,
    /// Context worth knowing whatever the outcome (evaluated for passing and failing findings).
    pub notes: Option<Expr>,
    /// Effective params (defaults merged with configuration and `--param`).
    pub params: BTreeMap<String, serde_json::Value>,
    /// Params as the rule file sets them.
    pub default_params: BTreeMap<String, serde_json::Value>,
    pub remediation: String,
    pub controls: BTreeMap<String, Vec<String>>,
    pub references: Vec<String>,
    pub origin: Origin,
    /// Where the bundled rule this user rule replaces was defined, if it replaces one.
    pub overrides: Option<Origin>,
    /// Test cases (`ecaudit rules test`), from the rule's `tests:` and its file's test file.
    pub tests: Vec<testing::Case>,
    pub(crate) pass_message: Arc<str>,
    pub(crate) fail_message: Arc<str>,
    pub(crate) not_applicable_message: Arc<str>,
}

impl Rule {
    pub fn applies_to_kind(&self, kind: DeploymentKind) -> bool {
        self.applies_to.contains(&kind)
    }

    pub fn fail_message(&self) -> &str {
        &self.fail_message
    }
}

/// The rules of a scan, sorted by id, compiled once and shared across threads.
#[derive(Debug)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    /// Rules disabled by configuration, kept so `rules list` can show them.
    pub(crate) disabled: Vec<Rule>,
}

/// A rule file's text and name.
pub struct RuleSource {
    pub name: String,
    pub text: String,
    pub bundled: bool,
    /// The sibling test file (`NAME.test.yaml` of `NAME.yaml`), if there is one.
    pub tests: Option<TestSource>,
}

/// A test file's name and text.
pub struct TestSource {
    pub name: String,
    pub text: String,
}

impl RuleSet {
    /// The bundled pack plus every `*.yaml`/`*.yml` file in `dirs`. A user rule with a bundled
    /// id replaces the bundled rule; any other duplicate id is an error.
    pub fn load(dirs: &[PathBuf]) -> Result<RuleSet, RuleErrors> {
        Self::load_with(dirs, LoadOptions::default())
    }

    /// [`RuleSet::load`] with options.
    pub fn load_with(dirs: &[PathBuf], options: LoadOptions) -> Result<RuleSet, RuleErrors> {
        Self::load_over(pack::sources(), dirs, options)
    }

    /// `base` plus the rule files of `paths`; reports every problem, of reading and of the rules.
    fn load_over(
        mut sources: Vec<RuleSource>,
        paths: &[PathBuf],
        options: LoadOptions,
    ) -> Result<RuleSet, RuleErrors> {
        let mut diags = Vec::new();
        for path in paths {
            match read_dir_sources(path) {
                Ok(found) => sources.extend(found),
                Err(d) => diags.push(d),
            }
        }
        let set = Self::from_sources_with(sources, options);
        match (set, diags.is_empty()) {
            (Ok(set), true) => Ok(set),
            (Ok(_), false) => Err(RuleErrors(diags)),
            (Err(RuleErrors(mut more)), _) => {
                diags.append(&mut more);
                Err(RuleErrors(diags))
            }
        }
    }

    /// Validates the rule files of one directory on their own (`ecaudit rules validate DIR`).
    pub fn validate_dir(dir: &Path) -> Result<RuleSet, RuleErrors> {
        let sources = read_dir_sources(dir).map_err(|d| RuleErrors(vec![d]))?;
        Self::from_sources(sources)
    }

    /// The rules of the given files and directories alone, without the bundled pack (`ecaudit
    /// rules test PATH...`); a rule id given twice is an error.
    pub fn load_only(paths: &[PathBuf]) -> Result<RuleSet, RuleErrors> {
        Self::load_over(Vec::new(), paths, LoadOptions::default())
    }

    /// Parses, compiles and validates rule sources; reports every problem found.
    pub fn from_sources(sources: Vec<RuleSource>) -> Result<RuleSet, RuleErrors> {
        Self::from_sources_with(sources, LoadOptions::default())
    }

    /// [`RuleSet::from_sources`] with options.
    pub fn from_sources_with(sources: Vec<RuleSource>, options: LoadOptions) -> Result<RuleSet, RuleErrors> {
        let env = cel_env();
        let mut diags = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        for source in &sources {
            let first = rules.len();
            match file::parse(&source.name, &source.text) {
                Ok(raw) => {
                    for raw_rule in raw.rules {
                        if let Some(rule) = validate(&env, source, raw_rule, &mut diags) {
                            rules.push(rule);
                        }
                    }
                }
                Err(d) => diags.push(d),
            }
            if let Some(tests) = &source.tests {
                testing::add_test_file(tests, &mut rules[first..], &mut diags);
            }
        }

        let kept = overrides::resolve_duplicates(rules, options, &mut diags);
        if !diags.is_empty() {
            return Err(RuleErrors(diags));
        }
        let mut rules = kept;
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(RuleSet {
            rules,
            disabled: Vec::new(),
        })
    }

    /// A set without rules.
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            disabled: Vec::new(),
        }
    }

    /// The enabled rules, by id.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Rules turned off in configuration.
    pub fn disabled(&self) -> &[Rule] {
        &self.disabled
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().chain(&self.disabled).find(|r| r.id == id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Rule> {
        self.rules
            .iter_mut()
            .chain(self.disabled.iter_mut())
            .find(|r| r.id == id)
    }

    /// Moves a rule to the disabled list (or back).
    pub(crate) fn set_enabled(&mut self, id: &str, enabled: bool) {
        let (from, to) = if enabled {
            (&mut self.disabled, &mut self.rules)
        } else {
            (&mut self.rules, &mut self.disabled)
        };
        if let Some(i) = from.iter().position(|r| r.id == id) {
            to.push(from.remove(i));
            to.sort_by(|a, b| a.id.cmp(&b.id));
        }
    }

    /// The user rules that replaced bundled ones, enabled or not, by id.
    pub fn overrides(&self) -> Vec<Override<'_>> {
        let mut found: Vec<Override<'_>> = self
            .rules
            .iter()
            .chain(&self.disabled)
            .filter_map(|r| {
                r.overrides.as_ref().map(|replaced| Override {
                    id: &r.id,
                    by: &r.origin,
                    replaced,
                })
            })
            .collect();
        found.sort_by(|a, b| a.id.cmp(b.id));
        found
    }

    /// The rule pack version to report: the bundled pack's, marked `+modified` when a user rule
    /// replaced a bundled one (added rules leave the bundled rules as they are).
    pub fn pack_version(&self) -> std::borrow::Cow<'static, str> {
        if self.overrides().is_empty() {
            std::borrow::Cow::Borrowed(pack::PACK_VERSION)
        } else {
            std::borrow::Cow::Owned(modified_pack_version())
        }
    }

    /// Every id known, enabled or not.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().chain(&self.disabled).map(|r| r.id.as_str())
    }
}

/// The rule files of a directory, sorted by name, or the one rule file `dir` names. A directory
/// without a rule file is a mistake (a wrong path, files named `.yml.txt`), not zero rules.
fn read_dir_sources(dir: &Path) -> Result<Vec<RuleSource>, Diagnostic> {
    let diag = |code, path: &Path, message: String| Diagnostic {
        code,
        file: path.display().to_string(),
        line: 0,
        column: 0,
        rule_id: None,
        message,
    };
    let io_diag = |path: &Path, e: std::io::Error| diag(Code::Io, path, format!("cannot read: {e}"));
    let mut paths = Vec::new();
    if dir.is_file() {
        paths.push(dir.to_path_buf());
    } else {
        for entry in std::fs::read_dir(dir).map_err(|e| io_diag(dir, e))? {
            let path = entry.map_err(|e| io_diag(dir, e))?.path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                && !is_test_file(&path)
                && path.is_file()
            {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            let message = "no rule file (*.yaml, *.yml) in this directory".into();
            return Err(diag(Code::NoRuleFiles, dir, message));
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| io_diag(&path, e))?;
            let tests = match test_file_of(&path) {
                Some(test_path) => Some(TestSource {
                    text: std::fs::read_to_string(&test_path).map_err(|e| io_diag(&test_path, e))?,
                    name: test_path.display().to_string(),
                }),
                None => None,
            };
            Ok(RuleSource {
                name: path.display().to_string(),
                text,
                bundled: false,
                tests,
            })
        })
        .collect()
}

/// Whether `path` is a test file (`NAME.test.yaml`), not a rule file.
fn is_test_file(path: &Path) -> bool {
    path.file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.ends_with(".test"))
}

/// The test file of rule file `NAME.yaml`: `NAME.test.yaml` (or `.yml`) beside it, if it exists.
fn test_file_of(rule_file: &Path) -> Option<PathBuf> {
    let stem = rule_file.file_stem()?.to_str()?;
    ["yaml", "yml"]
        .iter()
        .map(|ext| rule_file.with_file_name(format!("{stem}.test.{ext}")))
        .find(|p| p.is_file())
}

pub(crate) fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id
            .split('-')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Validates one raw rule into a [`Rule`]; problems go to `diags`.
fn validate(
    env: &Env,
    source: &RuleSource,
    raw: Spanned<file::RawRule>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let start = diags.len();
    let rule_line = raw.referenced.line() as usize;
    let raw = raw.value;
    let id = raw.id.value.trim().to_string();
    let at = |loc: &serde_saphyr::Location| (loc.line() as usize, loc.column() as usize);
    let mut push = |code, (line, column): (usize, usize), message: String| {
        diags.push(Diagnostic {
            code,
            file: source.name.clone(),
            line,
            column,
            rule_id: Some(id.clone()),
            message,
        })
    };

    if !is_kebab_case(&id) {
        push(
            Code::BadId,
            at(&raw.id.referenced),
            format!("id `{id}` is not kebab-case (e.g. `snapshot-retention`)"),
        );
    }
    let severity = match raw.severity.value.trim().parse::<Severity>() {
        Ok(s) => Some(s),
        Err(e) => {
            push(Code::BadSeverity, at(&raw.severity.referenced), e.to_string());
            None
        }
    };
    let mut applies_to = Vec::new();
    for kind in &raw.applies_to {
        match DeploymentKind::parse(kind.value.trim()) {
            Some(k) => applies_to.push(k),
            None => push(
                Code::BadKind,
                at(&kind.referenced),
                format!(
                    "unknown deployment kind `{}` (expected replication_group, cache_cluster or serverless_cache)",
                    kind.value
                ),
            ),
        }
    }
    if raw.applies_to.is_empty() {
        push(
            Code::BadKind,
            (rule_line, 0),
            "`applies_to` is empty: the rule would never run".into(),
        );
    }
    if raw.title.value.trim().is_empty() {
        push(
            Code::EmptyText,
            at(&raw.title.referenced),
            "`title` is empty".into(),
        );
    }
    if raw.remediation.value.trim().is_empty() {
        push(
            Code::EmptyText,
            at(&raw.remediation.referenced),
            "`remediation` is empty".into(),
        );
    }
    if let Some(message) = raw.fail_message.as_ref().filter(|m| m.value.trim().is_empty()) {
        push(
            Code::EmptyText,
            at(&message.referenced),
            "`fail_message` is empty; leave it out for the default (`Not satisfied: <title>`)".into(),
        );
    }

    let mut params = BTreeMap::new();
    for (name, value) in &raw.params {
        if let Err(why) = params::check_value(&value.value) {
            push(
                Code::BadParam,
                at(&value.referenced),
                format!("param `{name}`: {why}"),
            );
        }
        params.insert(name.clone(), value.value.clone());
    }

    let mut controls = BTreeMap::new();
    let controls_at = raw
        .controls
        .as_ref()
        .map(|c| at(&c.referenced))
        .unwrap_or((rule_line, 0));
    let no_controls = BTreeMap::new();
    for (framework, refs) in raw.controls.as_ref().map(|c| &c.value).unwrap_or(&no_controls) {
        if !FRAMEWORKS.iter().any(|(f, _)| f == framework) {
            let known: Vec<&str> = FRAMEWORKS.iter().map(|(f, _)| *f).collect();
            push(
                Code::UnknownFramework,
                controls_at,
                format!(
                    "unknown control framework `{framework}` (known: {})",
                    known.join(", ")
                ),
            );
            continue;
        }
        let refs = match refs {
            serde_json::Value::Array(items) => items.iter().map(scalar_text).collect::<Option<Vec<_>>>(),
            other => scalar_text(other).map(|s| vec![s]),
        };
        match refs {
            Some(refs) => {
                controls.insert(framework.clone(), refs);
            }
            None => push(
                Code::InvalidValue,
                controls_at,
                format!("controls `{framework}`: expected a control id or a list of them"),
            ),
        }
    }

    let test = match (&raw.check, &raw.violations) {
        (Some(check), None) => {
            compile::compile(env, source, &id, "check", check, &params, diags).map(Test::Check)
        }
        (None, Some(violations)) => {
            compile::compile(env, source, &id, "violations", violations, &params, diags).map(Test::Violations)
        }
        (both_or_none, _) => {
            diags.push(Diagnostic {
                code: Code::CheckForm,
                file: source.name.clone(),
                line: rule_line,
                column: 0,
                rule_id: Some(id.clone()),
                message: if both_or_none.is_some() {
                    "has both `check` and `violations`; keep one".into()
                } else {
                    "has neither `check` (a boolean) nor `violations` (a list of evidence strings)".into()
                },
            });
            None
        }
    };
    let when = raw
        .when
        .as_ref()
        .and_then(|w| compile::compile(env, source, &id, "when", w, &params, diags));
    let evidence = raw
        .evidence
        .as_ref()
        .and_then(|e| compile::compile(env, source, &id, "evidence", e, &params, diags));
    let notes = raw
        .notes
        .as_ref()
        .and_then(|e| compile::compile(env, source, &id, "notes", e, &params, diags));

    let facts = testing::RuleFacts {
        id: &id,
        applies_to: &applies_to,
        params: &params,
    };
    let mut tests = Vec::new();
    for case in raw.tests {
        if let Some(named) = &case.value.rule {
            diags.push(Diagnostic {
                code: Code::BadCase,
                file: source.name.clone(),
                line: named.referenced.line() as usize,
                column: named.referenced.column() as usize,
                rule_id: Some(id.clone()),
                message: "a case under a rule's `tests:` tests that rule; `rule:` belongs in a test file"
                    .into(),
            });
            continue;
        }
        tests.extend(testing::validate(&source.name, &source.text, case, &facts, diags));
    }

    if diags.len() > start {
        return None;
    }
    let title = raw.title.value.trim().to_string();
    let fail_message = raw
        .fail_message
        .map(|m| m.value.trim().to_string())
        .unwrap_or_else(|| format!("Not satisfied: {title}"));
    let when_source = when.as_ref().map(|w| w.source.clone()).unwrap_or_default();
    let test = test?;
    Some(Rule {
        id,
        pass_message: Arc::from(title.as_str()),
        fail_message: Arc::from(fail_message.as_str()),
        not_applicable_message: Arc::from(
            raw.not_applicable_message
                .map(|m| m.trim().to_string())
                .unwrap_or_else(|| format!("Not applicable: `{when_source}` is false"))
                .as_str(),
        ),
        title,
        description: raw.description.map(|d| d.trim().to_string()),
        severity: severity?,
        default_severity: severity?,
        applies_to,
        when,
        test,
        evidence,
        notes,
        default_params: params.clone(),
        params,
        remediation: raw.remediation.value.trim().to_string(),
        controls,
        references: raw.references,
        origin: Origin {
            file: source.name.clone(),
            line: rule_line,
            bundled: source.bundled,
        },
        overrides: None,
        tests,
    })
}

fn scalar_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_ids() {
        assert!(is_kebab_case("snapshot-retention"));
        assert!(is_kebab_case("pci-4"));
        assert!(!is_kebab_case("Snapshot"));
        assert!(!is_kebab_case("a--b"));
        assert!(!is_kebab_case("-a"));
        assert!(!is_kebab_case("a_b"));
    }

    /// Nested `levels` deep: parentheses, lists, calls, maps, indexes, a chain of conditionals.
    fn nestings(levels: usize) -> Vec<String> {
        vec![
            format!("{}true{}", "(".repeat(levels), ")".repeat(levels)),
            format!("{}1{}", "[".repeat(levels), "]".repeat(levels)),
            format!("{}1{}", "size(".repeat(levels), ")".repeat(levels)),
            format!("{}1{}", "{1: ".repeat(levels), "}".repeat(levels)),
            format!("x{}0{}", "[x".repeat(levels), "]".repeat(levels)),
            format!("{}1", "x ? 1 : ".repeat(levels)),
        ]
    }

    #[test]
    fn nesting_is_counted_as_cel_counts_it() {
        for expr in nestings(file::MAX_NESTING) {
            assert_eq!(file::too_deep(&expr), None, "{expr}");
        }
        for expr in nestings(file::MAX_NESTING + 1) {
            assert!(file::too_deep(&expr).is_some(), "{expr}");
        }
        let deep = format!("{}true{}", "(".repeat(96), ")".repeat(96));
        assert_eq!(file::too_deep(&deep), Some(96), "at the first token too deep");
        // Brackets in strings and comments and empty calls do not nest; a conditional ends with
        // its list element (a then-branch counts one level more than CEL counts it); optional
        // selections are not conditionals.
        let within = |levels: usize, inner: &str| {
            file::too_deep(&format!("{}{inner}{}", "(".repeat(levels), ")".repeat(levels)))
        };
        let inner = "f() + size('((((') + [a ? b : c, d ? e : f].size() // ((((\n+ 1";
        assert_eq!(within(93, inner), None);
        assert!(within(94, inner).is_some());
        assert_eq!(within(95, "x.?y"), None);
        assert_eq!(within(94, "x[?0]"), None);
    }

    /// `MAX_NESTING` is CEL's limit: CEL parses every nesting `too_deep` lets through and
    /// refuses, with its recursion limit, the next level. On a large stack: CEL's parser
    /// takes some 100 KB of stack per level in a debug build.
    #[test]
    fn max_nesting_is_cels_recursion_limit() {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| {
                let env = cel_env();
                for expr in nestings(file::MAX_NESTING) {
                    assert!(env.compile(&expr).is_ok(), "{expr}");
                }
                for expr in nestings(file::MAX_NESTING + 1) {
                    let errors = env.compile(&expr).expect_err(&expr).errors;
                    assert!(
                        errors.iter().any(compile::is_recursion_limit),
                        "{expr}: {errors:?}"
                    );
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn every_listed_function_exists_in_the_environment() {
        // Called with no arguments, a function that exists fails with "no matching overload";
        // one that does not exists fails with "undeclared reference" in every call style.
        let env = cel_env();
        let ctx = cel::Context::with_env(env.clone());
        let names = CEL_FUNCTIONS
            .iter()
            .copied()
            .chain(functions::FUNCTIONS.iter().map(|(f, _)| *f));
        for name in names {
            let declared = ["", "'x'.", "[].", "optional.none()."].iter().any(|receiver| {
                let Ok(program) = env.compile(&format!("{receiver}{name}()")) else {
                    return false;
                };
                !matches!(
                    program.execute(&ctx),
                    Err(cel::ExecutionError::UndeclaredReference(_))
                )
            });
            assert!(
                declared,
                "`{name}` is listed as a CEL function but the environment lacks it"
            );
        }
        let program = env.compile("no_such_function()").unwrap();
        assert!(matches!(
            program.execute(&ctx),
            Err(cel::ExecutionError::UndeclaredReference(_))
        ));
    }
}

//! The functions ecaudit adds to CEL: CIDR containment and public/private ranges (on `ipnet`),
//! dotted-version comparison (on `semver`), the parameter-group family an engine version needs,
//! and `unknown()` for facts a rule cannot decide on. Each is listed in `docs/rules.md`.

use cel::common::types::{CelBool, CelInt, CelString, DYN_TYPE, LIST_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError, Value};
use ipnet::IpNet;

pub use crate::net::{contains, is_private, is_public, parse_cidr};

/// Name and signature of every function ecaudit adds, for `docs/rules.md` and validation.
pub const FUNCTIONS: &[(&str, &str)] = &[
    (
        "cidr_contains",
        "cidr_contains(outer: string, inner: string) -> bool",
    ),
    (
        "cidr_within_any",
        "cidr_within_any(inner: string, outers: list<string>) -> bool",
    ),
    ("cidr_is_public", "cidr_is_public(cidr: string) -> bool"),
    ("cidr_is_private", "cidr_is_private(cidr: string) -> bool"),
    ("version_compare", "version_compare(a: string, b: string) -> int"),
    (
        "version_at_least",
        "version_at_least(version: string, minimum: string) -> bool",
    ),
    (
        "parameter_family",
        "parameter_family(engine: string, version: string) -> string",
    ),
    ("show", "show(value: any) -> string"),
    ("unknown", "unknown(reason: string) -> error"),
];

/// The function name whose error means "cannot decide", not "the rule is broken".
pub const UNKNOWN_FN: &str = "unknown";

pub fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let s = || STRING_TYPE;
    env.add_overload(
        "cidr_contains",
        "cidr_contains_string_string",
        vec![s(), s()],
        cidr_contains,
    )?;
    env.add_overload(
        "cidr_within_any",
        "cidr_within_any_string_list",
        vec![s(), LIST_TYPE],
        cidr_within_any,
    )?;
    env.add_overload(
        "cidr_is_public",
        "cidr_is_public_string",
        vec![s()],
        cidr_is_public,
    )?;
    env.add_overload(
        "cidr_is_private",
        "cidr_is_private_string",
        vec![s()],
        cidr_is_private,
    )?;
    env.add_overload(
        "version_compare",
        "version_compare_string_string",
        vec![s(), s()],
        version_compare,
    )?;
    env.add_overload(
        "version_at_least",
        "version_at_least_string_string",
        vec![s(), s()],
        version_at_least,
    )?;
    env.add_overload(
        "parameter_family",
        "parameter_family_string_string",
        vec![s(), s()],
        parameter_family,
    )?;
    env.add_overload("show", "show_dyn", vec![DYN_TYPE], show)?;
    env.add_overload("unknown", "unknown_string", vec![s()], unknown)?;
    Ok(())
}

fn str_arg<'a>(function: &str, val: &'a dyn Val) -> Result<&'a str, ExecutionError> {
    val.downcast_ref::<CelString>().map(|s| s.inner()).ok_or_else(|| {
        ExecutionError::function_error(
            function,
            format!("expected a string, got {}", val.get_type().name()),
        )
    })
}

fn args<'a, 'b, 'v, const N: usize>(
    _function: &str,
    args: &'a [CowVal<'b, 'v>],
) -> Result<[&'a dyn Val; N], ExecutionError>
where
    'v: 'a,
{
    if args.len() != N {
        return Err(ExecutionError::invalid_argument_count(N, args.len()));
    }
    Ok(std::array::from_fn(|i| args[i].as_ref() as &dyn Val))
}

fn bool_result<'b, 'v>(b: bool) -> Result<CowVal<'b, 'v>, ExecutionError> {
    Ok(CowVal::owned(CelBool::from(b)))
}

fn cidr(function: &str, val: &dyn Val) -> Result<IpNet, ExecutionError> {
    parse_cidr(str_arg(function, val)?).map_err(|e| ExecutionError::function_error(function, e))
}

fn cidr_contains<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "cidr_contains";
    let [outer, inner] = args::<2>(F, &a)?;
    bool_result(contains(&cidr(F, outer)?, &cidr(F, inner)?))
}

fn cidr_within_any<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "cidr_within_any";
    let [inner, outers] = args::<2>(F, &a)?;
    let inner = cidr(F, inner)?;
    let iterable = outers
        .as_iterable()
        .ok_or_else(|| ExecutionError::function_error(F, "expected a list of CIDR blocks"))?;
    let mut items = iterable.iter();
    while let Some(outer) = items.next() {
        if contains(&cidr(F, outer)?, &inner) {
            return bool_result(true);
        }
    }
    bool_result(false)
}

fn cidr_is_public<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "cidr_is_public";
    let [c] = args::<1>(F, &a)?;
    bool_result(is_public(&cidr(F, c)?))
}

fn cidr_is_private<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "cidr_is_private";
    let [c] = args::<1>(F, &a)?;
    bool_result(is_private(&cidr(F, c)?))
}

/// Parses an engine version such as `7.1`, `6.2.6` or `1.6.22` (missing components are 0).
/// Wildcards such as `6.x` are not versions: comparing one is an error, not a guess.
pub fn parse_version(s: &str) -> Result<semver::Version, String> {
    let s = s.trim();
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{s}` is not a version of the form MAJOR[.MINOR[.PATCH]]"
        ));
    }
    let mut padded = parts.clone();
    padded.resize(3, "0");
    semver::Version::parse(&padded.join(".")).map_err(|e| format!("`{s}`: {e}"))
}

/// An imprecise version (`6.x`) is an unknown fact: the finding says it cannot decide.
fn version(function: &str, val: &dyn Val) -> Result<semver::Version, ExecutionError> {
    parse_version(str_arg(function, val)?)
        .map_err(|e| ExecutionError::function_error(UNKNOWN_FN, format!("engine version {e}")))
}

fn version_compare<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "version_compare";
    let [x, y] = args::<2>(F, &a)?;
    let ordering = version(F, x)?.cmp(&version(F, y)?);
    Ok(CowVal::owned(CelInt::from(ordering as i64)))
}

fn version_at_least<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "version_at_least";
    let [x, min] = args::<2>(F, &a)?;
    bool_result(version(F, x)? >= version(F, min)?)
}

/// The parameter-group family an engine and version need: redis 7.x → `redis7`, 6.x →
/// `redis6.x`, 5.0 → `redis5.0`, 4.0 → `redis4.0`, 3.2 → `redis3.2`; valkey 7 → `valkey7`,
/// 8 → `valkey8`; memcached 1.6 → `memcached1.6`, 1.5 → `memcached1.5`, 1.4 → `memcached1.4`.
pub fn expected_family(engine: &str, version: &str) -> Result<String, String> {
    let v = parse_version(version)?;
    match engine {
        "redis" => Ok(match v.major {
            0..=5 => format!("redis{}.{}", v.major, v.minor),
            6 => "redis6.x".to_string(),
            major => format!("redis{major}"),
        }),
        "valkey" => Ok(format!("valkey{}", v.major)),
        "memcached" => Ok(format!("memcached{}.{}", v.major, v.minor)),
        other => Err(format!("unknown engine `{other}`")),
    }
}

fn parameter_family<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    const F: &str = "parameter_family";
    let [engine, ver] = args::<2>(F, &a)?;
    let family = expected_family(str_arg(F, engine)?, str_arg(F, ver)?)
        .map_err(|e| ExecutionError::function_error(UNKNOWN_FN, format!("no parameter-group family: {e}")))?;
    Ok(CowVal::owned(CelString::from(family)))
}

/// Renders a value for evidence: `null` as `unknown`, whole doubles without a fraction, others
/// to at most two decimals, lists
/// joined with commas, timestamps in RFC 3339.
pub fn render(value: &Value) -> String {
    match value {
        Value::Null => "unknown".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        // Measurements (CloudWatch averages) to two decimals: evidence, not data.
        Value::Float(f) if f.is_finite() => {
            let s = format!("{f:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Value::Float(f) => f.to_string(),
        Value::String(s) => s.to_string(),
        Value::List(items) => items.iter().map(render).collect::<Vec<_>>().join(", "),
        Value::Timestamp(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Value::Duration(d) => {
            let secs = d.num_seconds();
            if secs % 3600 == 0 {
                format!("{}h", secs / 3600)
            } else {
                format!("{secs}s")
            }
        }
        Value::Map(m) => {
            let mut entries: Vec<String> = m.map.iter().map(|(k, v)| format!("{k}={}", render(v))).collect();
            entries.sort();
            entries.join(", ")
        }
        other => format!("{other:?}"),
    }
}

fn show<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [v] = args::<1>("show", &a)?;
    let value = Value::try_from(v).map_err(|e| ExecutionError::function_error("show", e))?;
    Ok(CowVal::owned(CelString::from(render(&value))))
}

fn unknown<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [reason] = args::<1>(UNKNOWN_FN, &a)?;
    Err(ExecutionError::function_error(
        UNKNOWN_FN,
        str_arg(UNKNOWN_FN, reason)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("6.10").unwrap() > parse_version("6.2").unwrap());
        assert_eq!(parse_version("7").unwrap(), parse_version("7.0.0").unwrap());
        assert!(parse_version("6.x").is_err());
        assert!(parse_version("").is_err());
        assert!(parse_version("1.2.3.4").is_err());
    }

    #[test]
    fn families_follow_engine_and_major_version() {
        assert_eq!(expected_family("redis", "7.1.0").unwrap(), "redis7");
        assert_eq!(expected_family("redis", "6.2.6").unwrap(), "redis6.x");
        assert_eq!(expected_family("redis", "5.0.6").unwrap(), "redis5.0");
        assert_eq!(expected_family("valkey", "7.2").unwrap(), "valkey7");
        assert_eq!(expected_family("valkey", "8.0.1").unwrap(), "valkey8");
        assert_eq!(expected_family("memcached", "1.6.22").unwrap(), "memcached1.6");
        assert!(expected_family("mysql", "8.0").is_err());
    }
}

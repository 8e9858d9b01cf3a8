//! Rule parameters: values are scalars or lists of scalars; an override must have the type of
//! the rule's default, so a typo in a config or on the command line cannot silently weaken a rule.

use serde_json::Value;

/// Whether a value can be a param: a scalar or a list of scalars.
pub fn check_value(v: &Value) -> Result<(), String> {
    match v {
        Value::Null => Err("null is not a param value".into()),
        Value::Object(_) => Err("a map is not a param value (use a scalar or a list)".into()),
        Value::Array(items)
            if items
                .iter()
                .any(|i| matches!(i, Value::Array(_) | Value::Object(_) | Value::Null)) =>
        {
            Err("a list param holds scalars only".into())
        }
        _ => Ok(()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Whether `value` may replace `default`: same type; an integer where a number is expected; a
/// list whose items have the type of the default's items (any scalars if the default is empty).
pub fn check_override(default: &Value, value: &Value) -> Result<(), String> {
    check_value(value)?;
    let same = |d: &Value, v: &Value| match (d, v) {
        (Value::Number(d), Value::Number(v)) => d.is_f64() || !v.is_f64(),
        _ => std::mem::discriminant(d) == std::mem::discriminant(v),
    };
    let ok = match (default, value) {
        (Value::Array(d), Value::Array(v)) => match d.first() {
            Some(first) => v.iter().all(|item| same(first, item)),
            None => true,
        },
        (d, v) => same(d, v),
    };
    if ok {
        Ok(())
    } else {
        let expected = match default {
            Value::Array(d) => match d.first() {
                Some(first) => format!(
                    "a list of {}s",
                    type_name(first)
                        .trim_start_matches("a ")
                        .trim_start_matches("an ")
                ),
                None => "a list".to_string(),
            },
            other => type_name(other).to_string(),
        };
        Err(format!("expected {expected}, got {} ({value})", type_name(value)))
    }
}

/// Parses the text of a `--param` value into the type of the default: a string is taken as
/// written (so `6.10` stays `6.10`), a list is `[a, b]` or `a,b`.
pub fn parse_for(default: &Value, text: &str) -> Result<Value, String> {
    let text = text.trim();
    let scalar = |model: Option<&Value>, t: &str| -> Result<Value, String> {
        let t = t.trim();
        let unquoted = t
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
        match model {
            Some(Value::String(_)) | None => Ok(Value::String(unquoted.unwrap_or(t).to_string())),
            Some(Value::Bool(_)) => match t {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("expected true or false, got `{t}`")),
            },
            Some(Value::Number(n)) if !n.is_f64() => t
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("expected an integer, got `{t}`")),
            Some(Value::Number(_)) => t
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("expected a number, got `{t}`")),
            Some(other) => Err(format!("cannot set {} from the command line", type_name(other))),
        }
    };
    match default {
        Value::Array(items) => {
            let inner = text
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(text);
            if inner.trim().is_empty() {
                return Ok(Value::Array(Vec::new()));
            }
            inner
                .split(',')
                .map(|part| scalar(items.first(), part))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        other => scalar(Some(other), text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_keep_the_default_type() {
        assert!(check_override(&json!(7), &json!(14)).is_ok());
        assert!(check_override(&json!(7), &json!("14")).is_err());
        assert!(
            check_override(&json!(90.0), &json!(80)).is_ok(),
            "an integer where a number is expected"
        );
        assert!(check_override(&json!(7), &json!(7.5)).is_err());
        assert!(check_override(&json!(["a"]), &json!(["b", "c"])).is_ok());
        assert!(check_override(&json!(["a"]), &json!([1])).is_err());
        assert!(check_override(&json!([]), &json!(["x"])).is_ok());
        assert!(check_override(&json!("6.2"), &json!({"a": 1})).is_err());
    }

    #[test]
    fn command_line_values_parse_to_the_default_type() {
        assert_eq!(parse_for(&json!(7), "14").unwrap(), json!(14));
        assert!(parse_for(&json!(7), "fourteen").is_err());
        assert_eq!(parse_for(&json!("6.2"), "6.10").unwrap(), json!("6.10"));
        assert_eq!(parse_for(&json!("6.2"), "\"7.0\"").unwrap(), json!("7.0"));
        assert_eq!(parse_for(&json!([]), "team,env").unwrap(), json!(["team", "env"]));
        assert_eq!(parse_for(&json!(["a"]), "[x, y]").unwrap(), json!(["x", "y"]));
        assert_eq!(parse_for(&json!([]), "[]").unwrap(), json!([]));
        assert_eq!(parse_for(&json!(90.0), "75").unwrap(), json!(75.0));
        assert_eq!(parse_for(&json!(true), "false").unwrap(), json!(false));
    }
}

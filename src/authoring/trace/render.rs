//! Values as a trace shows them: CEL literals, errors in words, and what a sub-expression gave
//! across a comprehension's elements.

use std::fmt::Write as _;

use cel::ExecutionError;
use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelDuration, CelInt, CelMap, CelNull, CelOptional, CelString, CelTimestamp,
    CelUInt, Kind,
};
use cel::common::value::Val;

use super::StepValue;
use crate::rules::functions::UNKNOWN_FN;
use crate::rules::view;

/// What evaluating a sub-expression gave.
pub(super) type Res<'v> = Result<Box<dyn Val + 'v>, ExecutionError>;

pub(super) fn bool_of(v: &dyn Val) -> Option<bool> {
    v.downcast_ref::<CelBool>().map(|b| *b.inner())
}

/// An evaluation error in words: `unknown(reason)` as the finding would say it.
pub(super) fn describe(e: &ExecutionError) -> String {
    match e {
        ExecutionError::FunctionError { function, message } if function == UNKNOWN_FN => {
            format!("Cannot decide: {message}")
        }
        other => other.to_string(),
    }
}

/// The values a node took across the elements it was evaluated for, in the order they first
/// appeared.
pub(super) fn summary(values: &[Res<'_>]) -> StepValue {
    let n = values.len();
    let mut groups: Vec<(String, bool, usize)> = Vec::new();
    for v in values {
        let (text, error) = match v {
            Ok(v) => (render(v.as_ref()), false),
            Err(e) => (describe(e), true),
        };
        match groups.iter_mut().find(|(t, e, _)| *t == text && *e == error) {
            Some(g) => g.2 += 1,
            None => groups.push((text, error, 1)),
        }
    }
    let elements = if n == 1 { "element" } else { "elements" };
    let mut out = String::new();
    for (i, (text, error, k)) in groups.iter().enumerate().take(4) {
        let shown = if *error && groups.len() > 1 {
            format!("error: {text}")
        } else {
            text.clone()
        };
        let _ = match (i, *k == n) {
            (0, true) if n == 1 => write!(out, "{shown} for the 1 element"),
            (0, true) => write!(out, "{shown} for each of {n} {elements}"),
            (0, false) => write!(out, "{shown} for {k} of {n} {elements}"),
            _ => write!(out, ", {shown} for {k}"),
        };
    }
    if groups.len() > 4 {
        let rest: usize = groups[4..].iter().map(|g| g.2).sum();
        let _ = write!(out, ", {} other values for {rest}", groups.len() - 4);
    }
    if groups.iter().all(|g| g.1) {
        StepValue::Error(out)
    } else {
        StepValue::Value(out)
    }
}

/// How long a rendered value may be.
const VALUE_CHARS: usize = 120;

/// A value written as a CEL literal (timestamps in RFC 3339, objects with their facts), cut
/// to [`VALUE_CHARS`] characters.
pub(super) fn render(v: &dyn Val) -> String {
    let mut out = String::new();
    write_value(v, &mut out);
    if out.chars().count() > VALUE_CHARS {
        out = out.chars().take(VALUE_CHARS - 1).chain(['…']).collect();
    }
    out
}

fn write_value(v: &dyn Val, out: &mut String) {
    // Past the cut nothing more shows; a large fact is not rendered whole.
    if out.len() > VALUE_CHARS * 4 {
        return;
    }
    let _ = if let Some(b) = bool_of(v) {
        write!(out, "{b}")
    } else if let Some(i) = v.downcast_ref::<CelInt>() {
        write!(out, "{}", i.inner())
    } else if let Some(u) = v.downcast_ref::<CelUInt>() {
        write!(out, "{}u", u.inner())
    } else if let Some(f) = v.downcast_ref::<CelDouble>() {
        write!(out, "{:?}", f.inner())
    } else if let Some(s) = v.downcast_ref::<CelString>() {
        write!(out, "{}", serde_json::Value::from(s.inner()))
    } else if v.downcast_ref::<CelNull>().is_some() {
        write!(out, "null")
    } else if let Some(t) = v.downcast_ref::<CelTimestamp>() {
        write!(
            out,
            "{}",
            t.inner().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    } else if let Some(d) = v.downcast_ref::<CelDuration>() {
        write!(out, "duration(\"{}s\")", d.inner().num_seconds())
    } else if let Some(b) = v.downcast_ref::<CelBytes>() {
        write!(
            out,
            "b{}",
            serde_json::Value::from(String::from_utf8_lossy(b.inner()))
        )
    } else if let Some(o) = v.downcast_ref::<CelOptional>() {
        match o.option() {
            Some(inner) => {
                out.push_str("optional.of(");
                write_value(inner, out);
                out.push(')');
            }
            None => out.push_str("optional.none()"),
        }
        Ok(())
    } else if let Some(m) = v.downcast_ref::<CelMap>() {
        let mut entries: Vec<(String, &dyn Val)> = m
            .inner()
            .iter()
            .map(|(k, v)| (render(k.inner()), v.as_ref()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        out.push('{');
        for (i, (k, v)) in entries.into_iter().enumerate() {
            let _ = write!(out, "{}{k}: ", if i > 0 { ", " } else { "" });
            write_value(v, out);
        }
        out.push('}');
        Ok(())
    } else if let (Kind::List, Some(items)) = (v.get_type().kind(), v.as_iterable()) {
        out.push('[');
        let mut items = items.iter();
        let mut first = true;
        while let Some(item) = items.next() {
            if !std::mem::take(&mut first) {
                out.push_str(", ");
            }
            write_value(item, out);
            if out.len() > VALUE_CHARS * 4 {
                break;
            }
        }
        out.push(']');
        Ok(())
    } else if let (Some(facts), Some(index)) = (view::fields_of(v.get_type().name()), v.as_indexer()) {
        // An inventory object: its facts, as a CEL message would be written.
        let name = v.get_type().name();
        let _ = write!(out, "{}{{", name.strip_prefix("ecaudit.").unwrap_or(name));
        for (i, fact) in facts.iter().enumerate() {
            if out.len() > VALUE_CHARS * 4 {
                break;
            }
            let _ = write!(out, "{}{}: ", if i > 0 { ", " } else { "" }, fact.name);
            match index.get(&CelString::from(fact.name)) {
                Ok(value) => write_value(value.as_ref(), out),
                Err(_) => out.push('?'),
            }
        }
        out.push('}');
        Ok(())
    } else {
        write!(out, "{}", v.get_type().name())
    };
}

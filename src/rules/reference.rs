//! The facts rules may read, as documentation: rendered from the table in `view.rs` into
//! `docs/rules.md` (a test keeps the committed copy current), and checked against the inventory
//! model so that no inventory field is left out of the table by accident.

use std::fmt::Write;

pub use super::view::{Fact, HIDDEN, OBJECTS, Object, Shape};

/// The first line of the generated block in `docs/rules.md`.
pub const BEGIN: &str = "<!-- facts: generated from src/rules/view.rs; after a change run \
                         `ECAUDIT_BLESS=1 cargo test --test it docs::` -->";
/// The last line of the generated block.
pub const END: &str = "<!-- end of facts -->";

fn type_of(cel_type: &str) -> &str {
    cel_type.trim_start_matches("ecaudit.")
}

/// The fact reference of `docs/rules.md`, from [`BEGIN`] to [`END`], one table per object type.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push('\n');
    for object in OBJECTS {
        let _ = write!(
            out,
            "\n#### {}\n\n{}\n\n| fact | source | meaning |\n|---|---|---|\n",
            type_of(object.cel_type),
            object.summary.trim()
        );
        for fact in object.facts {
            let origin = if fact.derived { "derived" } else { "stored" };
            let holds = match fact.shape {
                Shape::Other => String::new(),
                Shape::Obj(t) => format!("`{}`: ", type_of(t)),
                Shape::List(t) => format!("list of `{}`: ", type_of(t)),
            };
            let _ = writeln!(
                out,
                "| `{}` | {origin} | {holds}{} |",
                fact.name,
                fact.description.trim()
            );
        }
    }
    out.push('\n');
    out.push_str(END);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use serde_json::Value;

    use super::*;
    use crate::inventory::Inventory;

    /// The inventory types a property refers to that are structs (have properties of their own).
    fn struct_refs<'a>(schema: &'a Value, defs: &'a Value, out: &mut Vec<&'a str>) {
        match schema {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    let name = r.trim_start_matches("#/$defs/");
                    if defs[name].get("properties").is_some() {
                        out.push(name);
                    }
                }
                for value in map.values() {
                    struct_refs(value, defs, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| struct_refs(v, defs, out)),
            _ => {}
        }
    }

    fn is_array(schema: &Value) -> bool {
        match &schema["type"] {
            Value::String(t) => t == "array",
            Value::Array(types) => types.iter().any(|t| t == "array"),
            _ => false,
        }
    }

    /// Every field of every inventory type rules reach from `d` is a stored fact (with the shape
    /// of its type, so the static checks follow it) or listed in `HIDDEN` with a reason; every
    /// struct reachable that way is an object type. A new inventory field fails here until it
    /// is declared in `view.rs` one way or the other.
    #[test]
    fn every_inventory_field_is_a_fact_or_deliberately_hidden() {
        let schema = serde_json::to_value(Inventory::json_schema()).unwrap();
        let defs = &schema["$defs"];
        let objects: HashMap<&str, &Object> = OBJECTS
            .iter()
            .filter_map(|o| Some((o.inventory_type?, o)))
            .collect();
        let mut problems = Vec::new();
        let mut reached = BTreeSet::from(["Deployment"]);
        let mut todo = vec!["Deployment"];
        while let Some(ty) = todo.pop() {
            let Some(object) = objects.get(ty) else {
                problems.push(format!(
                    "inventory type {ty} is reachable from a deployment, but no object type of view.rs exposes it"
                ));
                continue;
            };
            let properties = defs[ty]["properties"].as_object().expect("a struct");
            for (field, property) in properties {
                let fact = object.facts.iter().find(|f| f.name == field && !f.derived);
                let hidden = HIDDEN.iter().find(|(t, f, _)| *t == ty && f == field);
                let mut refs = Vec::new();
                struct_refs(property, defs, &mut refs);
                match (fact, hidden) {
                    (Some(fact), None) => {
                        let expected = match refs.first() {
                            None => Shape::Other,
                            Some(r) => match objects.get(r) {
                                Some(o) if is_array(property) => Shape::List(o.cel_type),
                                Some(o) => Shape::Obj(o.cel_type),
                                None => Shape::Other,
                            },
                        };
                        if fact.shape != expected {
                            problems.push(format!(
                                "{ty}.{field}: declared as {:?}, the inventory holds {expected:?}",
                                fact.shape
                            ));
                        }
                        for r in refs {
                            if reached.insert(r) {
                                todo.push(r);
                            }
                        }
                    }
                    (None, Some(_)) => {}
                    (Some(_), Some(_)) => problems.push(format!("{ty}.{field} is both a fact and hidden")),
                    (None, None) => problems.push(format!(
                        "{ty}.{field} is neither a stored fact of {} nor listed in HIDDEN (view.rs)",
                        object.cel_type
                    )),
                }
            }
            for fact in object.facts.iter().filter(|f| !f.derived) {
                if !properties.contains_key(fact.name) {
                    problems.push(format!(
                        "{}.{} is declared stored, but {ty} has no such field",
                        object.cel_type, fact.name
                    ));
                }
            }
        }
        for (ty, field, reason) in HIDDEN {
            if !reached.contains(ty) || defs[ty]["properties"].get(field).is_none() {
                problems.push(format!(
                    "HIDDEN names {ty}.{field}, which rules cannot reach anyway"
                ));
            }
            if reason.trim().is_empty() {
                problems.push(format!("HIDDEN {ty}.{field} gives no reason"));
            }
        }
        for ty in objects.keys() {
            if !reached.contains(ty) {
                problems.push(format!("object type for {ty} is not reachable from a deployment"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_reference_has_a_row_per_fact() {
        let text = markdown();
        let rows = text.lines().filter(|l| l.starts_with("| `")).count();
        let facts: usize = OBJECTS.iter().map(|o| o.facts.len()).sum();
        assert_eq!(rows, facts);
        assert!(text.starts_with(BEGIN) && text.trim_end().ends_with(END));
    }
}

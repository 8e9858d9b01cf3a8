//! Values known only after apply, traced through the plan's `configuration`: an attribute's
//! expression names the resources, variables and module outputs it is made of, so
//! `security_group_ids = [aws_security_group.cache.id]` leads to the security group the plan
//! creates even though its id is not known yet.

use serde_json::Value;

use super::document::{Doc, Mode, Resource, module_calls, module_segments, split_address};

static NULL: Value = Value::Null;
static TRUE: Value = Value::Bool(true);

/// Whether a value is known only after apply: a `true` anywhere in its `after_unknown` marks.
fn marked(marks: &Value) -> bool {
    match marks {
        Value::Bool(b) => *b,
        Value::Array(items) => items.iter().any(marked),
        Value::Object(map) => map.values().any(marked),
        _ => false,
    }
}

/// A value of a resource with its unknown and sensitive marks, which mirror its shape.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    pub v: &'a Value,
    /// `after_unknown` at the same place (`true`: the whole value is unknown).
    pub u: &'a Value,
    /// `after_sensitive` at the same place.
    pub s: &'a Value,
}

/// The marker of a value known only after apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unknown;

/// A mark one level down: a whole-value mark covers every part.
fn mark_at<'a>(marks: &'a Value, step: impl FnOnce(&'a Value) -> Option<&'a Value>) -> &'a Value {
    match marks {
        Value::Bool(true) => &TRUE,
        other => step(other).unwrap_or(&NULL),
    }
}

impl<'a> Node<'a> {
    pub fn new(v: &'a Value, u: &'a Value, s: &'a Value) -> Self {
        Node { v, u, s }
    }

    pub fn get(self, key: &str) -> Node<'a> {
        Node {
            v: self.v.get(key).unwrap_or(&NULL),
            u: mark_at(self.u, |m| m.get(key)),
            s: mark_at(self.s, |m| m.get(key)),
        }
    }

    pub fn at(self, i: usize) -> Node<'a> {
        Node {
            v: self.v.get(i).unwrap_or(&NULL),
            u: mark_at(self.u, |m| m.get(i)),
            s: mark_at(self.s, |m| m.get(i)),
        }
    }

    /// The elements of a list or set (as many as `after` or the marks have).
    pub fn items(self) -> Vec<Node<'a>> {
        let n = self
            .v
            .as_array()
            .map_or(0, Vec::len)
            .max(self.u.as_array().map_or(0, Vec::len));
        (0..n).map(|i| self.at(i)).collect()
    }

    /// Known only after apply, in whole or in part.
    pub fn unknown(self) -> bool {
        marked(self.u)
    }

    /// Sensitive, in whole or in part: never copied into an inventory.
    pub fn sensitive(self) -> bool {
        marked(self.s)
    }

    /// The value, unless some of it is unknown.
    pub fn known(self) -> Result<&'a Value, Unknown> {
        if self.unknown() { Err(Unknown) } else { Ok(self.v) }
    }

    /// A string; `None` when unset (`null`, or the provider's `""`).
    pub fn str(self) -> Result<Option<&'a str>, Unknown> {
        Ok(self.known()?.as_str().filter(|s| !s.is_empty()))
    }

    /// A boolean, also written as a string (`"true"`) by some providers.
    pub fn boolean(self) -> Result<Option<bool>, Unknown> {
        Ok(tf_bool(self.known()?))
    }

    pub fn number(self) -> Result<Option<f64>, Unknown> {
        let v = self.known()?;
        Ok(v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
    }

    /// The known, non-empty strings of a list or set; unknown elements are left out.
    pub fn known_strings(self) -> Vec<&'a str> {
        self.items()
            .into_iter()
            .filter(|i| !i.unknown())
            .filter_map(|i| i.v.as_str().filter(|s| !s.is_empty()))
            .collect()
    }
}

/// A Terraform boolean: `true`, or `"true"` from providers that write booleans as strings.
pub fn tf_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// A resource instance of one side of the plan (before or after) with its values.
#[derive(Clone, Copy, Debug)]
pub struct Obj<'a> {
    pub r: &'a Resource,
    pub node: Node<'a>,
}

/// Where a reference leads.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A resource instance of the side (its index), and the attribute named, if any.
    Resource(usize, Option<String>),
    /// A constant: a variable's value, a module argument, an output.
    Value(Value),
}

/// Resolves references in one side's resources.
pub struct Resolver<'a> {
    pub side: &'a [Obj<'a>],
    configuration: Option<&'a Value>,
    variables: &'a Value,
}

/// Modules nest; a hostile document could pretend they nest forever.
const MAX_DEPTH: usize = 32;

impl<'a> Resolver<'a> {
    pub fn new(side: &'a [Obj<'a>], doc: &'a Doc) -> Self {
        Resolver {
            side,
            configuration: doc.configuration.as_ref(),
            variables: &doc.variables,
        }
    }

    /// The configuration module of a module instance (`module.a["k"]` → `module_calls.a.module`).
    fn config_module(&self, module: &str) -> Option<&'a Value> {
        let mut m = self.configuration?.get("root_module")?;
        for call in module_calls(module) {
            m = m.get("module_calls")?.get(&call)?.get("module")?;
        }
        Some(m)
    }

    /// The configuration block of a resource instance.
    pub fn config_resource(&self, r: &Resource) -> Option<&'a Value> {
        let local = match r.mode {
            Mode::Data => format!("data.{}.{}", r.kind, r.name),
            Mode::Managed => format!("{}.{}", r.kind, r.name),
        };
        self.config_module(&r.module)?
            .get("resources")?
            .as_array()?
            .iter()
            .find(|c| c["address"].as_str() == Some(&local))
    }

    /// Whether the configuration sets `attribute` of the resource at all (`None`: no
    /// configuration to tell).
    pub fn configured(&self, r: &Resource, attribute: &str) -> Option<bool> {
        Some(
            self.config_resource(r)?
                .get("expressions")?
                .get(attribute)
                .is_some(),
        )
    }

    /// Where the expression of `attribute` of side resource `index` leads; `None` when some of
    /// it cannot be followed (a local value, a function of unknowns, something not in the plan).
    pub fn attribute(&self, index: usize, attribute: &str) -> Option<Vec<Target>> {
        let r = self.side.get(index)?.r;
        let expression = self.config_resource(r)?.get("expressions")?.get(attribute)?;
        self.expression(&r.module, expression, Some(r), 0)
    }

    fn expression(
        &self,
        module: &str,
        expression: &Value,
        from: Option<&Resource>,
        depth: usize,
    ) -> Option<Vec<Target>> {
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(v) = expression.get("constant_value") {
            return Some(vec![Target::Value(v.clone())]);
        }
        let references: Vec<&str> = expression
            .get("references")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut out: Vec<Target> = Vec::new();
        for reference in &references {
            // `aws_x.a` comes with `aws_x.a.id`: the longer one says which attribute.
            if references
                .iter()
                .any(|other| other.len() > reference.len() && other.starts_with(&format!("{reference}.")))
            {
                continue;
            }
            for t in self.reference(module, reference, from, depth)? {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn reference(
        &self,
        module: &str,
        reference: &str,
        from: Option<&Resource>,
        depth: usize,
    ) -> Option<Vec<Target>> {
        let parts = split_address(reference);
        match parts.first().copied()? {
            // Used to index or name things, never a value the facts need.
            "count" | "each" if matches!(parts.get(1).copied(), Some("index" | "key")) => Some(Vec::new()),
            "path" | "terraform" => Some(Vec::new()),
            "var" => self.variable(module, parts.get(1)?, depth),
            "module" => self.output(module, parts.get(1)?, parts.get(2)?, depth),
            "data" => self.resource(
                module,
                Mode::Data,
                parts.get(1)?,
                parts.get(2)?,
                parts.get(3),
                from,
            ),
            "local" | "each" | "count" | "self" => None,
            kind => self.resource(module, Mode::Managed, kind, parts.get(1)?, parts.get(2), from),
        }
    }

    fn resource(
        &self,
        module: &str,
        mode: Mode,
        kind: &str,
        name_key: &str,
        attribute: Option<&&str>,
        from: Option<&Resource>,
    ) -> Option<Vec<Target>> {
        let (name, key) = match name_key.find('[') {
            Some(i) => (&name_key[..i], Some(&name_key[i..])),
            None => (name_key, None),
        };
        let found: Vec<usize> = self
            .side
            .iter()
            .enumerate()
            .filter(|(_, o)| o.r.module == module && o.r.mode == mode && o.r.kind == kind && o.r.name == name)
            .filter(|(_, o)| key.is_none_or(|k| o.r.address.ends_with(k)))
            .map(|(i, _)| i)
            .collect();
        // `aws_x.a[count.index]` is listed as `aws_x.a`: the instance with the referrer's key.
        let same_key = |i: &usize| {
            from.and_then(|f| instance_suffix(&f.address))
                .is_some_and(|k| instance_suffix(&self.side[*i].r.address) == Some(k))
        };
        let found: Vec<usize> = if key.is_none() && found.len() > 1 && found.iter().any(same_key) {
            found.into_iter().filter(same_key).collect()
        } else {
            found
        };
        if found.is_empty() {
            return None;
        }
        Some(
            found
                .into_iter()
                .map(|i| Target::Resource(i, attribute.map(|a| a.to_string())))
                .collect(),
        )
    }

    fn variable(&self, module: &str, name: &str, depth: usize) -> Option<Vec<Target>> {
        if module.is_empty() {
            let v = self.variables.get(name)?.get("value")?;
            return Some(vec![Target::Value(v.clone())]);
        }
        let segments = module_segments(module);
        let (_, parent) = segments.split_last()?;
        let parent = parent.join(".");
        let call = module_calls(module).pop()?;
        let parent_config = self.config_module(&parent)?;
        let call_config = parent_config.get("module_calls")?.get(&call)?;
        match call_config.get("expressions").and_then(|e| e.get(name)) {
            Some(argument) => self.expression(&parent, argument, None, depth + 1),
            // Not passed: the variable's default.
            None => {
                let default = call_config
                    .get("module")?
                    .get("variables")?
                    .get(name)?
                    .get("default")?;
                Some(vec![Target::Value(default.clone())])
            }
        }
    }

    fn output(&self, module: &str, call_key: &str, output: &str, depth: usize) -> Option<Vec<Target>> {
        let call = call_key.split('[').next().unwrap_or(call_key);
        let expression = self
            .config_module(module)?
            .get("module_calls")?
            .get(call)?
            .get("module")?
            .get("outputs")?
            .get(output)?
            .get("expression")?;
        let prefix = if module.is_empty() {
            format!("module.{call_key}")
        } else {
            format!("{module}.module.{call_key}")
        };
        // Every instance of the module call the side holds (one, unless it has count or for_each).
        let mut instances: Vec<&str> = self
            .side
            .iter()
            .map(|o| o.r.module.as_str())
            .filter(|m| {
                module_segments(m).len() == module_segments(&prefix).len()
                    && (*m == prefix || (!call_key.contains('[') && m.starts_with(&format!("{prefix}["))))
            })
            .collect();
        instances.sort_unstable();
        instances.dedup();
        if instances.is_empty() {
            instances.push(&prefix);
        }
        let mut out = Vec::new();
        for instance in instances {
            out.extend(self.expression(instance, expression, None, depth + 1)?);
        }
        Some(out)
    }
}

/// The instance key at the end of an address (`[0]`, `["a"]`), if any.
fn instance_suffix(address: &str) -> Option<&str> {
    let last = split_address(address).pop()?;
    last.find('[').map(|i| &last[i..])
}

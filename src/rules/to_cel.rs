//! Values as CEL sees them: inventory facts converted on access, borrowing rather than copying,
//! and the shapes derived facts take (lists of strings, counts, ...).

use std::collections::{BTreeMap, HashMap};

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelTimestamp,
};
use cel::common::value::Val;
use chrono::{DateTime, Utc};

use crate::inventory::{
    AutomaticFailover, ClusterMode, DeploymentKind, GlobalRole, LookupState, NodeRole, TransitEncryptionMode,
};

/// A fact as CEL sees it: a value borrowing from the fact.
pub(crate) trait ToCel {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v>;
}

impl ToCel for String {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelString::from(self.as_str()))
    }
}

impl ToCel for str {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelString::from(self))
    }
}

impl ToCel for &str {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelString::from(*self))
    }
}

impl ToCel for bool {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelBool::from(*self))
    }
}

macro_rules! int_to_cel {
    ($($t:ty),*) => {$(
        impl ToCel for $t {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(CelInt::from(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
int_to_cel!(u16, u32, i32, i64, u64, usize);

impl ToCel for f64 {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelDouble::from(*self))
    }
}

impl ToCel for DateTime<Utc> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelTimestamp::from(self.fixed_offset()))
    }
}

impl<T: ToCel> ToCel for Option<T> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        match self {
            Some(v) => v.to_cel(),
            None => Box::new(CelNull),
        }
    }
}

impl<T: ToCel> ToCel for Vec<T> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelList::from(self.iter().map(|v| v.to_cel()).collect::<Vec<_>>()))
    }
}

impl ToCel for BTreeMap<String, String> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        let map = self
            .iter()
            .map(|(k, v)| (CelMapKey::from(k.as_str()), v.to_cel()))
            .collect::<HashMap<_, _>>();
        Box::new(CelMap::from(map))
    }
}

impl ToCel for serde_json::Value {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        use serde_json::Value as J;
        match self {
            J::Null => Box::new(CelNull),
            J::Bool(b) => b.to_cel(),
            J::Number(n) => match n.as_i64() {
                Some(i) => Box::new(CelInt::from(i)),
                None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
            },
            J::String(s) => s.to_cel(),
            J::Array(items) => items.to_cel(),
            J::Object(map) => {
                let map = map
                    .iter()
                    .map(|(k, v)| (CelMapKey::from(k.as_str()), v.to_cel()))
                    .collect::<HashMap<_, _>>();
                Box::new(CelMap::from(map))
            }
        }
    }
}

/// Enums are CEL strings spelled as in the inventory JSON.
macro_rules! enum_to_cel {
    ($($t:ty => { $($variant:path => $s:literal),* $(,)? }),* $(,)?) => {$(
        impl ToCel for $t {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(CelString::from(match self { $($variant => $s),* }))
            }
        }
    )*};
}

enum_to_cel! {
    DeploymentKind => {
        DeploymentKind::ReplicationGroup => "replication_group",
        DeploymentKind::CacheCluster => "cache_cluster",
        DeploymentKind::ServerlessCache => "serverless_cache",
    },
    ClusterMode => {
        ClusterMode::Enabled => "enabled",
        ClusterMode::Disabled => "disabled",
        ClusterMode::Compatible => "compatible",
    },
    TransitEncryptionMode => {
        TransitEncryptionMode::Preferred => "preferred",
        TransitEncryptionMode::Required => "required",
    },
    AutomaticFailover => {
        AutomaticFailover::Enabled => "enabled",
        AutomaticFailover::Disabled => "disabled",
        AutomaticFailover::Enabling => "enabling",
        AutomaticFailover::Disabling => "disabling",
    },
    NodeRole => { NodeRole::Primary => "primary", NodeRole::Replica => "replica" },
    GlobalRole => { GlobalRole::Primary => "primary", GlobalRole::Secondary => "secondary" },
    LookupState => {
        LookupState::Found => "found",
        LookupState::NotFound => "not_found",
        LookupState::Unknown => "unknown",
    },
}

// The shapes derived facts take. A derived value is computed on access, so it is owned by the
// CEL value, or borrows from the inventory.

/// A list of strings borrowed from the inventory.
pub(crate) fn strings<'v>(items: Vec<&'v str>) -> Box<dyn Val + 'v> {
    Box::new(CelList::from(
        items
            .into_iter()
            .map(|s| Box::new(CelString::from(s)) as Box<dyn Val + 'v>)
            .collect::<Vec<_>>(),
    ))
}

/// A string borrowed from the inventory, or `null`.
pub(crate) fn text<'v>(s: Option<&'v str>) -> Box<dyn Val + 'v> {
    match s {
        Some(s) => Box::new(CelString::from(s)),
        None => Box::new(CelNull),
    }
}

/// A string built from stored facts.
pub(crate) fn owned<'v>(s: String) -> Box<dyn Val + 'v> {
    Box::new(CelString::from(s))
}

/// A count, or `null`.
pub(crate) fn count<'v>(n: impl Into<Option<usize>>) -> Box<dyn Val + 'v> {
    match n.into() {
        Some(n) => Box::new(CelInt::from(i64::try_from(n).unwrap_or(i64::MAX))),
        None => Box::new(CelNull),
    }
}

/// A number, or `null`.
pub(crate) fn number<'v>(x: Option<f64>) -> Box<dyn Val + 'v> {
    match x {
        Some(x) => Box::new(CelDouble::from(x)),
        None => Box::new(CelNull),
    }
}

pub(crate) fn boolean<'v>(b: bool) -> Box<dyn Val + 'v> {
    Box::new(CelBool::from(b))
}

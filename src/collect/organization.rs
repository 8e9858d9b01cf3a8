//! The owners of an organization's accounts (`--organization`): each account's name, from
//! ListAccounts, and its organizational unit path (`Root/Workloads/Prod`), read once per run:
//! ListRoots once, ListParents once per account, and DescribeOrganizationalUnit and ListParents
//! once per distinct unit on the way up. A failed read leaves the paths that need it unknown and
//! is a coverage entry (service `organizations`, region `global`), never an abort.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::ParentType;

use super::{Reads, describe_error};
use crate::inventory::{Account, CoverageError};

/// The name AWS gives every organization's root, used when ListRoots could not say.
const ROOT: &str = "Root";

/// Units resolved at once: Organizations' request quota is small and shared by the whole
/// organization, so a few calls in flight finish as soon as many would, without throttling.
const IN_FLIGHT: usize = 4;

/// A unit's place in the tree: the root, or an organizational unit.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Parent {
    Root(String),
    Unit(String),
}

/// An organizational unit as read: its name and its parent.
struct UnitRead {
    name: String,
    parent: Parent,
}

/// An account as ListAccounts lists it: id, name, and the organization's id from its ARN
/// (`arn:aws:organizations::MGMT:account/o-xxxx/ID`).
pub(crate) fn listed(a: &aws_sdk_organizations::types::Account) -> Option<Account> {
    Some(Account {
        id: a.id()?.to_string(),
        name: a.name().map(str::to_string),
        ou_path: None,
        ou_id: None,
        organization_id: a
            .arn()
            .and_then(|arn| arn.split_once(":account/"))
            .and_then(|(_, rest)| rest.split('/').next())
            .filter(|o| o.starts_with("o-"))
            .map(str::to_string),
    })
}

/// The one parent of `child` (an account or a unit).
async fn parent_of(org: &Client, child: String) -> Result<Parent, CoverageError> {
    let out = org
        .list_parents()
        .child_id(child)
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    let Some(p) = out.parents().first() else {
        return Err(CoverageError {
            code: "NoParent".into(),
            message: "ListParents returned no parent".into(),
        });
    };
    let id = p.id().unwrap_or_default().to_string();
    Ok(match p.r#type() {
        Some(ParentType::Root) => Parent::Root(id),
        _ => Parent::Unit(id),
    })
}

/// A unit's name and parent: DescribeOrganizationalUnit and ListParents, side by side.
async fn unit(org: &Client, id: String) -> (Result<String, CoverageError>, Result<Parent, CoverageError>) {
    let describe = async {
        let out = org
            .describe_organizational_unit()
            .organizational_unit_id(&id)
            .send()
            .await
            .map_err(|e| describe_error(&e))?;
        Ok(out
            .organizational_unit()
            .and_then(|u| u.name())
            .unwrap_or_default()
            .to_string())
    };
    tokio::join!(describe, parent_of(org, id.clone()))
}

/// `f` of every key, at most [`IN_FLIGHT`] at once, by key.
async fn each<T, F, Fut>(keys: Vec<String>, f: F) -> BTreeMap<String, T>
where
    T: Send + 'static,
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut out = BTreeMap::new();
    let mut keys = keys.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.len() < IN_FLIGHT
            && let Some(key) = keys.next()
        {
            let run = f(key.clone());
            tasks.spawn(async move { (key, run.await) });
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let (key, value) = done.expect("an organizations task panicked");
        out.insert(key, value);
    }
    out
}

/// Fills in the organizational unit path of every account in `accounts`, each read once, each
/// call's outcome recorded in `reads`.
pub(crate) async fn resolve(org: &Client, accounts: &mut [Account], reads: &mut Reads) {
    if accounts.is_empty() {
        return;
    }
    // The root's name: one call for the run (every organization has one root).
    let mut roots: BTreeMap<String, String> = BTreeMap::new();
    let mut pages = org.list_roots().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe_error(&e));
        match reads.record("organizations", "ListRoots", page) {
            Some(page) => roots.extend(
                page.roots()
                    .iter()
                    .filter_map(|r| Some((r.id()?.to_string(), r.name().unwrap_or(ROOT).to_string()))),
            ),
            None => break,
        }
    }

    let org_of = |id: String| {
        let org = org.clone();
        async move { parent_of(&org, id).await }
    };
    let parents = each(accounts.iter().map(|a| a.id.clone()).collect(), org_of).await;
    let mut parents: BTreeMap<String, Option<Parent>> = parents
        .into_iter()
        .map(|(id, p)| (id, reads.record("organizations", "ListParents", p)))
        .collect();

    // Each distinct unit on the way up, once: level by level, from the accounts' units.
    let mut units: BTreeMap<String, Option<UnitRead>> = BTreeMap::new();
    let mut pending: BTreeSet<String> = parents
        .values()
        .flatten()
        .filter_map(|p| match p {
            Parent::Unit(id) => Some(id.clone()),
            Parent::Root(_) => None,
        })
        .collect();
    // AWS nests units at most five deep; the bound only guards against a looping answer.
    for _ in 0..16 {
        if pending.is_empty() {
            break;
        }
        let unit_of = |id: String| {
            let org = org.clone();
            async move { unit(&org, id).await }
        };
        let read = each(std::mem::take(&mut pending).into_iter().collect(), unit_of).await;
        for (id, (name, parent)) in read {
            let name = reads.record("organizations", "DescribeOrganizationalUnit", name);
            let parent = reads.record("organizations", "ListParents", parent);
            if let Some(Parent::Unit(up)) = &parent
                && !units.contains_key(up)
            {
                pending.insert(up.clone());
            }
            let read = name.zip(parent).map(|(name, parent)| UnitRead { name, parent });
            units.insert(id, read);
        }
        pending.retain(|id| !units.contains_key(id));
    }

    for account in accounts.iter_mut() {
        let Some(parent) = parents.remove(&account.id).flatten() else {
            continue;
        };
        account.ou_path = path(&parent, &roots, &units);
        account.ou_id = Some(match parent {
            Parent::Root(id) | Parent::Unit(id) => id,
        });
    }
}

/// The path of `parent` from the root, `None` when a unit on the way could not be read.
fn path(
    parent: &Parent,
    roots: &BTreeMap<String, String>,
    units: &BTreeMap<String, Option<UnitRead>>,
) -> Option<String> {
    let mut names = Vec::new();
    let mut at = parent;
    loop {
        match at {
            Parent::Root(id) => {
                names.push(roots.get(id).map_or(ROOT, String::as_str));
                break;
            }
            Parent::Unit(id) => {
                let unit = units.get(id)?.as_ref()?;
                names.push(&unit.name);
                if names.len() > 16 {
                    return None;
                }
                at = &unit.parent;
            }
        }
    }
    names.reverse();
    Some(names.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, parent: Parent) -> Option<UnitRead> {
        Some(UnitRead {
            name: name.into(),
            parent,
        })
    }

    #[test]
    fn paths_run_from_the_root_down() {
        let roots = BTreeMap::from([("r-1".to_string(), "Root".to_string())]);
        let units = BTreeMap::from([
            ("ou-w".to_string(), unit("Workloads", Parent::Root("r-1".into()))),
            ("ou-p".to_string(), unit("Prod", Parent::Unit("ou-w".into()))),
            ("ou-x".to_string(), None),
            ("ou-y".to_string(), unit("Below", Parent::Unit("ou-x".into()))),
        ]);
        let p = |parent| path(&parent, &roots, &units);
        assert_eq!(
            p(Parent::Unit("ou-p".into())).as_deref(),
            Some("Root/Workloads/Prod")
        );
        assert_eq!(p(Parent::Unit("ou-w".into())).as_deref(), Some("Root/Workloads"));
        assert_eq!(p(Parent::Root("r-1".into())).as_deref(), Some("Root"));
        // A root ListRoots did not name is `Root`.
        assert_eq!(
            path(&Parent::Root("r-9".into()), &BTreeMap::new(), &units).as_deref(),
            Some("Root")
        );
        // A unit that could not be read leaves every path through it unknown.
        assert_eq!(p(Parent::Unit("ou-y".into())), None);
        assert_eq!(p(Parent::Unit("ou-unknown".into())), None);
    }

    #[test]
    fn a_looping_answer_ends() {
        let units = BTreeMap::from([
            ("ou-a".to_string(), unit("A", Parent::Unit("ou-b".into()))),
            ("ou-b".to_string(), unit("B", Parent::Unit("ou-a".into()))),
        ]);
        assert_eq!(path(&Parent::Unit("ou-a".into()), &BTreeMap::new(), &units), None);
    }

    #[test]
    fn the_organization_id_comes_from_the_account_arn() {
        let a = aws_sdk_organizations::types::Account::builder()
            .id("222222222222")
            .name("payments")
            .arn("arn:aws:organizations::111111111111:account/o-abc123/222222222222")
            .build();
        let account = listed(&a).unwrap();
        assert_eq!(account.organization_id.as_deref(), Some("o-abc123"));
        assert_eq!(account.name.as_deref(), Some("payments"));
        let bare = aws_sdk_organizations::types::Account::builder().id("3").build();
        assert_eq!(listed(&bare).and_then(|a| a.organization_id), None);
    }
}

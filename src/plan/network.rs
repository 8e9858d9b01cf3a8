//! The network joins a live scan makes, from the other resources of the plan: security groups
//! with their ingress (inline blocks and rule resources), the subnet group and the VPC's CIDR
//! blocks. A referenced resource the plan does not describe comes from the `extra` inventory
//! when it has it, else it is unknown.

use serde_json::Value;

use super::context::{Cx, Gap, Ref, Rules, gap};
use super::resolve::{Node, Target};
use crate::inventory::{
    Deployment, DeploymentKind, IngressPermission, IpRange, LookupState, SecurityGroup, Subnet, SubnetGroup,
    Vpc,
};

/// A security group's id, or its address while the id is known only after apply.
fn group_key(cx: &Cx, j: usize) -> String {
    match cx.node(j).get("id").str() {
        Ok(Some(id)) => id.to_string(),
        _ => cx.address(j).to_string(),
    }
}

/// A reference to a resource of the plan, or an id, from an attribute holding one id.
pub(super) fn one_ref(cx: &Cx, i: usize, attribute: &str) -> Option<Ref> {
    match cx.node(i).get(attribute).str() {
        Ok(Some(id)) => Some(Ref::Id(id.to_string())),
        Ok(None) => None,
        Err(_) => match cx.res.attribute(i, attribute).as_deref() {
            Some([Target::Resource(j, _)]) => Some(Ref::Resource(*j)),
            Some([Target::Value(Value::String(s))]) => Some(Ref::Id(s.clone())),
            _ => None,
        },
    }
}

/// The group an ingress rule resource adds to.
fn rule_group(cx: &Cx, j: usize) -> Option<String> {
    match one_ref(cx, j, "security_group_id")? {
        Ref::Id(id) => Some(id),
        Ref::Resource(k) if cx.kind(k) == "aws_security_group" => Some(group_key(cx, k)),
        Ref::Resource(_) => None,
    }
}

/// Strings of a list attribute (or one string), traced to known values; a gap when some are
/// known only after apply.
fn strings(cx: &Cx, i: usize, attribute: &str) -> Result<Vec<String>, Gap> {
    let node = cx.node(i).get(attribute);
    if node.v.is_string() || node.u == &Value::Bool(true) && !node.v.is_array() {
        return Ok(cx.string(i, attribute, false)?.into_iter().collect());
    }
    if node.unknown() {
        return Err(Gap::Unknown);
    }
    Ok(node.known_strings().into_iter().map(str::to_string).collect())
}

/// An inbound permission in the inventory's shape (protocol numbers as AWS names them; no ports
/// for all traffic; the provider's `""` for an unset source dropped).
pub(crate) fn permission(
    protocol: &str,
    from: Option<i64>,
    to: Option<i64>,
    v4: Vec<String>,
    v6: Vec<String>,
    groups: Vec<String>,
    prefixes: Vec<String>,
) -> IngressPermission {
    let protocol = match protocol {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "all" | "-1" | "" => "-1",
        p => p,
    };
    let all = protocol == "-1";
    let port = |p: Option<i64>| p.filter(|_| !all).and_then(|p| i32::try_from(p).ok());
    let set = |v: Vec<String>| v.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let ranges = |v: Vec<String>| {
        set(v)
            .into_iter()
            .map(|cidr| IpRange {
                cidr,
                description: None,
            })
            .collect()
    };
    IngressPermission {
        protocol: protocol.to_string(),
        from_port: port(from),
        to_port: port(to),
        ipv4_ranges: ranges(v4),
        ipv6_ranges: ranges(v6),
        security_groups: set(groups),
        prefix_lists: set(prefixes),
    }
}

fn port(node: Node) -> Result<Option<i64>, Gap> {
    Ok(node.number()?.map(|n| n as i64))
}

/// An ingress rule resource as a permission.
fn rule_permission(cx: &Cx, j: usize, group: &str) -> Result<IngressPermission, Gap> {
    let n = cx.node(j);
    let source = |attribute: &str| -> Result<Vec<String>, Gap> {
        Ok(match one_ref(cx, j, attribute) {
            Some(Ref::Id(id)) => vec![id],
            Some(Ref::Resource(k)) if cx.kind(k) == "aws_security_group" => vec![group_key(cx, k)],
            Some(Ref::Resource(k)) => vec![cx.address(k).to_string()],
            None if n.get(attribute).unknown() => return Err(Gap::Unknown),
            None => Vec::new(),
        })
    };
    if cx.kind(j) == "aws_vpc_security_group_ingress_rule" {
        let protocol = n.get("ip_protocol").str()?.unwrap_or("-1").to_string();
        return Ok(permission(
            &protocol,
            port(n.get("from_port"))?,
            port(n.get("to_port"))?,
            strings(cx, j, "cidr_ipv4")?,
            strings(cx, j, "cidr_ipv6")?,
            source("referenced_security_group_id")?,
            strings(cx, j, "prefix_list_id")?,
        ));
    }
    let mut groups = source("source_security_group_id")?;
    if n.get("self").boolean()? == Some(true) {
        groups.push(group.to_string());
    }
    Ok(permission(
        n.get("protocol").str()?.unwrap_or("-1"),
        port(n.get("from_port"))?,
        port(n.get("to_port"))?,
        strings(cx, j, "cidr_blocks")?,
        strings(cx, j, "ipv6_cidr_blocks")?,
        groups,
        strings(cx, j, "prefix_list_ids")?,
    ))
}

impl Rules {
    pub(super) fn of(cx: &Cx) -> Rules {
        let mut rules = Rules::default();
        let kinds = ["aws_security_group_rule", "aws_vpc_security_group_ingress_rule"];
        for j in kinds.into_iter().flat_map(|k| cx.of_type(k)) {
            if cx.kind(j) == "aws_security_group_rule" && cx.node(j).get("type").v.as_str() != Some("ingress")
            {
                continue;
            }
            match rule_group(cx, j) {
                Some(group) => {
                    let p = rule_permission(cx, j, &group);
                    rules
                        .by_group
                        .entry(group)
                        .or_default()
                        .push((cx.address(j).to_string(), p));
                }
                None => rules.orphans.push(cx.address(j).to_string()),
            }
        }
        rules
    }
}

/// A group's inline `ingress` blocks.
fn inline_ingress(cx: &Cx, j: usize, key: &str) -> Result<Vec<IngressPermission>, Gap> {
    let node = cx.node(j).get("ingress");
    if node.unknown() {
        return Err(Gap::Unknown);
    }
    let list = |n: Node, k: &str| {
        n.get(k)
            .known_strings()
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    Ok(node
        .items()
        .into_iter()
        .map(|i| {
            let mut groups = list(i, "security_groups");
            if tf_true(i.get("self").v) {
                groups.push(key.to_string());
            }
            permission(
                i.get("protocol").v.as_str().unwrap_or("-1"),
                i.get("from_port").v.as_i64(),
                i.get("to_port").v.as_i64(),
                list(i, "cidr_blocks"),
                list(i, "ipv6_cidr_blocks"),
                groups,
                list(i, "prefix_list_ids"),
            )
        })
        .collect())
}

fn tf_true(v: &Value) -> bool {
    super::resolve::tf_bool(v) == Some(true)
}

fn unknown_group(id: &str) -> SecurityGroup {
    SecurityGroup {
        id: id.to_string(),
        name: None,
        vpc_id: None,
        state: LookupState::Unknown,
        ingress: Vec::new(),
    }
}

/// Adds the plan's rule resources to a group; any that cannot be read, or that may belong to
/// it, make its ingress unknown.
fn add_rules(cx: &Cx, d: &mut Deployment, g: &mut SecurityGroup) {
    let rules = cx.rules.get_or_init(|| Rules::of(cx));
    for (address, p) in rules.by_group.get(&g.id).into_iter().flatten() {
        match p {
            Ok(p) => g.ingress.push(p.clone()),
            Err(why) => {
                gap(d, "security_groups", &format!("the ingress of `{address}`"), *why);
                g.state = LookupState::Unknown;
            }
        }
    }
    for address in &rules.orphans {
        d.notes.push(format!(
            "`{address}` adds ingress to a security group the plan does not tell, so every group's ingress is unknown"
        ));
        g.state = LookupState::Unknown;
    }
}

fn plan_group(cx: &Cx, d: &mut Deployment, j: usize) -> SecurityGroup {
    let key = group_key(cx, j);
    let mut g = SecurityGroup {
        name: cx.node(j).get("name").str().ok().flatten().map(str::to_string),
        vpc_id: cx.string(j, "vpc_id", true).ok().flatten(),
        state: LookupState::Found,
        ingress: Vec::new(),
        id: key.clone(),
    };
    match inline_ingress(cx, j, &key) {
        Ok(p) => g.ingress = p,
        Err(why) => {
            gap(
                d,
                "security_groups",
                &format!("the ingress of `{}`", cx.address(j)),
                why,
            );
            g.state = LookupState::Unknown;
        }
    }
    add_rules(cx, d, &mut g);
    g
}

fn group(cx: &Cx, d: &mut Deployment, r: &Ref) -> SecurityGroup {
    let id = match r {
        Ref::Resource(j)
            if cx.kind(*j) == "aws_security_group"
                && cx.side[*j].r.mode == super::document::Mode::Managed =>
        {
            return plan_group(cx, d, *j);
        }
        Ref::Resource(j) => match cx.node(*j).get("id").str() {
            Ok(Some(id)) => id.to_string(),
            _ => {
                gap(
                    d,
                    "security_groups",
                    &format!("the id of `{}`", cx.address(*j)),
                    Gap::Unknown,
                );
                return unknown_group(cx.address(*j));
            }
        },
        Ref::Id(id) => id.clone(),
    };
    if let Some(j) = cx
        .of_type("aws_security_group")
        .find(|j| cx.node(*j).get("id").str() == Ok(Some(&id)))
    {
        return plan_group(cx, d, j);
    }
    let known = cx.extra.and_then(|inv| {
        inv.deployments
            .iter()
            .flat_map(|e| &e.security_groups)
            .find(|g| g.id == id && g.state == LookupState::Found)
    });
    match known {
        Some(g) => {
            let mut g = g.clone();
            add_rules(cx, d, &mut g);
            g
        }
        None => {
            d.notes.push(format!(
                "security group {id} is not in the plan (pass --inventory to read it from a collection)"
            ));
            unknown_group(&id)
        }
    }
}

fn security_groups(cx: &Cx, d: &mut Deployment, i: usize) -> Vec<SecurityGroup> {
    let mut refs = match cx.refs(i, "security_group_ids") {
        Ok(r) => r,
        Err(why) => {
            if cx.res.configured(cx.side[i].r, "security_group_ids") == Some(false) {
                d.notes
                    .push("no security group is set: AWS attaches the VPC's default security group".into());
            }
            gap(d, "security_groups", "`security_group_ids`", why);
            return vec![unknown_group("unknown")];
        }
    };
    if d.kind == DeploymentKind::CacheCluster {
        match cx.refs(i, "security_group_names") {
            Ok(names) => refs.extend(names.into_iter().map(|n| {
                match n {
                    Ref::Id(name) => cx
                        .of_type("aws_security_group")
                        .find(|j| cx.node(*j).get("name").str() == Ok(Some(&name)))
                        .map_or(Ref::Id(name), Ref::Resource),
                    other => other,
                }
            })),
            Err(why) => gap(d, "security_groups", "`security_group_names`", why),
        }
    }
    let mut out: Vec<SecurityGroup> = Vec::new();
    for r in &refs {
        let g = group(cx, d, r);
        if !out.iter().any(|o| o.id == g.id) {
            out.push(g);
        }
    }
    out
}

/// The VPC a `vpc_id` attribute names.
fn vpc_ref(cx: &Cx, i: usize, attribute: &str) -> Option<Ref> {
    one_ref(cx, i, attribute)
}

/// The subnets of a list of subnet ids, and the VPC they are in.
fn subnets(cx: &Cx, d: &mut Deployment, i: usize, attribute: &str) -> (Vec<Subnet>, Option<Ref>) {
    let refs = match cx.refs(i, attribute) {
        Ok(r) => r,
        Err(why) => {
            gap(d, "vpc", &format!("`{attribute}` of `{}`", cx.address(i)), why);
            return (Vec::new(), None);
        }
    };
    let mut vpc = None;
    let subnets = refs
        .iter()
        .map(|r| {
            let j = match r {
                Ref::Resource(j) => Some(*j),
                Ref::Id(id) => (0..cx.side.len())
                    .find(|j| cx.kind(*j) == "aws_subnet" && cx.node(*j).get("id").str() == Ok(Some(id))),
            };
            let id = match (r, j) {
                (Ref::Id(id), _) => id.clone(),
                (Ref::Resource(_), Some(j)) => cx
                    .node(j)
                    .get("id")
                    .str()
                    .ok()
                    .flatten()
                    .map_or_else(|| cx.address(j).to_string(), str::to_string),
                (Ref::Resource(_), None) => String::new(),
            };
            if vpc.is_none() {
                vpc = j.and_then(|j| vpc_ref(cx, j, "vpc_id"));
            }
            Subnet {
                id,
                availability_zone: j.and_then(|j| {
                    cx.node(j)
                        .get("availability_zone")
                        .str()
                        .ok()
                        .flatten()
                        .map(str::to_string)
                }),
            }
        })
        .collect();
    (subnets, vpc)
}

/// A replication group's or cluster's subnet group, and the VPC it names.
fn subnet_group(cx: &Cx, d: &mut Deployment, i: usize) -> (Option<SubnetGroup>, Option<Ref>) {
    let name = match cx.string(i, "subnet_group_name", false) {
        Ok(Some(name)) => name,
        // Not set: AWS puts the cache in the `default` subnet group.
        Ok(None) | Err(_) if cx.res.configured(cx.side[i].r, "subnet_group_name") == Some(false) => {
            "default".into()
        }
        Ok(None) => return (None, None),
        Err(why) => {
            gap(d, "subnet_group", "`subnet_group_name`", why);
            return (None, None);
        }
    };
    let traced = match one_ref(cx, i, "subnet_group_name") {
        Some(Ref::Resource(j)) if cx.kind(j) == "aws_elasticache_subnet_group" => Some(j),
        _ => None,
    };
    let found = traced.or_else(|| {
        cx.of_type("aws_elasticache_subnet_group")
            .find(|j| cx.node(*j).get("name").str() == Ok(Some(&name)))
    });
    if let Some(j) = found {
        let (subnets, from_subnets) = subnets(cx, d, j, "subnet_ids");
        let vpc = vpc_ref(cx, j, "vpc_id").or(from_subnets);
        let group = SubnetGroup {
            name: Some(name),
            state: LookupState::Found,
            vpc_id: match &vpc {
                Some(Ref::Id(id)) => Some(id.clone()),
                Some(Ref::Resource(k)) => Some(group_key(cx, *k)),
                None => None,
            },
            subnets,
        };
        return (Some(group), vpc);
    }
    let known = cx.extra.and_then(|inv| {
        inv.deployments
            .iter()
            .filter_map(|e| e.subnet_group.as_ref())
            .find(|g| g.name.as_deref() == Some(&name) && g.state == LookupState::Found)
    });
    if let Some(g) = known {
        return (Some(g.clone()), g.vpc_id.clone().map(Ref::Id));
    }
    d.notes
        .push(format!("cache subnet group {name} is not in the plan"));
    let group = SubnetGroup {
        name: Some(name),
        state: LookupState::Unknown,
        vpc_id: None,
        subnets: Vec::new(),
    };
    (Some(group), None)
}

/// A VPC's CIDR blocks: its own, and those associations add; `None` when one is unknown.
fn plan_vpc(cx: &Cx, j: usize) -> Result<Vpc, Gap> {
    let n = cx.node(j);
    let key = group_key(cx, j);
    let mut ipv4: Vec<String> = n
        .get("cidr_block")
        .str()?
        .into_iter()
        .map(str::to_string)
        .collect();
    // A new VPC's IPv6 block is unknown until apply, but it has one only when asked for.
    let asks_v6 = n.get("assign_generated_ipv6_cidr_block").boolean()? == Some(true)
        || n.get("ipv6_ipam_pool_id").str()?.is_some();
    let mut ipv6: Vec<String> = match n.get("ipv6_cidr_block").str() {
        Err(_) if !asks_v6 => Vec::new(),
        other => other?.into_iter().map(str::to_string).collect(),
    };
    // A data source lists every associated block.
    for a in n.get("cidr_block_associations").items() {
        if a.get("state").v.as_str().is_none_or(|s| s == "associated")
            && let Some(c) = a.get("cidr_block").str()?
            && !ipv4.iter().any(|b| b == c)
        {
            ipv4.push(c.to_string());
        }
    }
    for (kind, attribute, into) in [
        ("aws_vpc_ipv4_cidr_block_association", "cidr_block", &mut ipv4),
        (
            "aws_vpc_ipv6_cidr_block_association",
            "ipv6_cidr_block",
            &mut ipv6,
        ),
    ] {
        for a in cx.of_type(kind) {
            let ours = match vpc_ref(cx, a, "vpc_id") {
                Some(Ref::Id(id)) => id == key,
                Some(Ref::Resource(k)) => k == j,
                None => false,
            };
            if ours && let Some(c) = cx.node(a).get(attribute).str()? {
                into.push(c.to_string());
            }
        }
    }
    Ok(Vpc {
        id: key,
        ipv4_cidr_blocks: ipv4,
        ipv6_cidr_blocks: ipv6,
    })
}

fn vpc(cx: &Cx, d: &mut Deployment, r: &Ref) -> Option<Vpc> {
    let is_vpc = |j: usize| cx.kind(j) == "aws_vpc";
    let found = match r {
        Ref::Resource(j) if is_vpc(*j) => Some(*j),
        Ref::Resource(_) => None,
        Ref::Id(id) => (0..cx.side.len()).find(|j| is_vpc(*j) && cx.node(*j).get("id").str() == Ok(Some(id))),
    };
    if let Some(j) = found {
        return match plan_vpc(cx, j) {
            Ok(v) => Some(v),
            Err(why) => {
                gap(d, "vpc", &format!("a CIDR block of `{}`", cx.address(j)), why);
                None
            }
        };
    }
    let Ref::Id(id) = r else {
        d.notes
            .push("the deployment's VPC is not described in the plan".into());
        return None;
    };
    let known = cx.extra.and_then(|inv| {
        inv.deployments
            .iter()
            .filter_map(|e| e.vpc.as_ref())
            .find(|v| &v.id == id)
    });
    if known.is_none() {
        d.notes.push(format!(
            "VPC {id} is not described in the plan (add a `data \"aws_vpc\"` or pass --inventory)"
        ));
        if !d.unknown_facts.iter().any(|f| f == "vpc") {
            d.unknown_facts.push("vpc".into());
        }
    }
    known.cloned()
}

/// Security groups, subnet group and VPC of deployment `d` (resource `i`).
pub(super) fn network(cx: &Cx, d: &mut Deployment, i: usize) {
    d.security_groups = security_groups(cx, d, i);
    let (group, mut vpc_of) = if d.kind == DeploymentKind::ServerlessCache {
        let (subnets, vpc) = subnets(cx, d, i, "subnet_ids");
        let group = SubnetGroup {
            name: None,
            state: LookupState::Found,
            vpc_id: match &vpc {
                Some(Ref::Id(id)) => Some(id.clone()),
                _ => None,
            },
            subnets,
        };
        (Some(group), vpc)
    } else {
        subnet_group(cx, d, i)
    };
    d.subnet_group = group;
    if vpc_of.is_none() {
        // As a live scan does: the VPC of the security groups.
        let refs = cx.refs(i, "security_group_ids").unwrap_or_default();
        vpc_of = refs.iter().find_map(|r| match r {
            Ref::Resource(j) if cx.kind(*j) == "aws_security_group" => vpc_ref(cx, *j, "vpc_id"),
            _ => None,
        });
        vpc_of = vpc_of.or_else(|| {
            d.security_groups
                .iter()
                .find_map(|g| g.vpc_id.clone().filter(|v| v.starts_with("vpc-")).map(Ref::Id))
        });
    }
    d.vpc = vpc_of.and_then(|r| vpc(cx, d, &r));
}

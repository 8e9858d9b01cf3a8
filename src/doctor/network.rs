//! The Connectivity section: do the security groups admit this host's source on the cache port,
//! are the subnet group, VPC and security groups consistent (both decided from the collected
//! deployment alone), does the endpoint resolve, and does a TCP connection open.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use super::check::{Check, Section};
use super::probe;
use crate::facts;
use crate::inventory::{Deployment, LookupState};
use crate::net::parse_cidr;

/// Whether some CIDR rule of a security group attached to `d` admits every address of each
/// `source` on the cache port. A source that only a security-group reference or a prefix list
/// could admit cannot be decided from here.
pub(crate) fn source_admitted(d: &Deployment, sources: &[IpNet]) -> Check {
    if sources.is_empty() {
        return Check::new(
            "security-group-admits-source",
            Section::Connectivity,
            "security groups admit this host".into(),
        )
        .skip(
            "this host's address toward the endpoint is unknown (the endpoint does not resolve \
             here, or the route is loopback, as through a tunnel); pass --from CIDR",
        );
    }
    let port = d
        .cache_port()
        .map_or("the cache port".to_string(), |p| format!("tcp/{p}"));
    let title = format!(
        "security groups admit {} on {port}",
        sources
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut check = Check::new("security-group-admits-source", Section::Connectivity, title);
    if d.unknown_facts.iter().any(|f| f == "security_groups") {
        return check.skip("the attached security groups could not be read");
    }
    let unreadable = facts::security_groups_in(d, LookupState::Unknown);
    let ingress = facts::cache_port_ingress(d);
    let references: Vec<String> = ingress
        .iter()
        .flat_map(|(p, g)| {
            p.security_groups
                .iter()
                .map(move |r| format!("{r} (in {})", g.id))
                .chain(p.prefix_lists.iter().map(move |l| format!("{l} (in {})", g.id)))
        })
        .collect();
    let mut all_admitted = true;
    for source in sources {
        let admitting: Vec<String> = ingress
            .iter()
            .flat_map(|(p, g)| {
                p.ipv4_ranges
                    .iter()
                    .chain(&p.ipv6_ranges)
                    .filter(|r| parse_cidr(&r.cidr).is_ok_and(|net| net.contains(source)))
                    .map(move |r| format!("{}: {} from {}", g.id, facts::port_range(p), r.cidr))
            })
            .collect();
        if admitting.is_empty() {
            all_admitted = false;
            check
                .evidence
                .push(format!("{source}: no CIDR rule on {port} admits it"));
        } else {
            check
                .evidence
                .push(format!("{source}: admitted by {}", admitting.join("; ")));
        }
    }
    for g in facts::security_groups_in(d, LookupState::NotFound) {
        check
            .evidence
            .push(format!("{g} is attached but no longer exists"));
    }
    if all_admitted {
        return check.pass();
    }
    if !references.is_empty() || !unreadable.is_empty() {
        if !references.is_empty() {
            check.evidence.push(format!(
                "security-group references and prefix lists admit their members: {}; this host may be one",
                references.join(", ")
            ));
        }
        if !unreadable.is_empty() {
            check
                .evidence
                .push(format!("unreadable security groups: {}", unreadable.join(", ")));
        }
        return check.skip_keeping_evidence();
    }
    let group = d
        .security_groups
        .iter()
        .find(|g| g.state == LookupState::Found)
        .map_or("<sg-id>".to_string(), |g| g.id.clone());
    let cidr = sources.first().map_or("<cidr>".to_string(), ToString::to_string);
    let port_number = d.cache_port().unwrap_or(6379);
    check.fail(format!(
        "admit the source, or connect from inside the VPC: `aws ec2 authorize-security-group-ingress \
         --group-id {group} --protocol tcp --port {port_number} --cidr {cidr}`"
    ))
}

/// The subnet group exists and sits in the deployment's VPC, and every attached security group
/// exists in that VPC too.
pub(crate) fn subnet_group_and_vpc(d: &Deployment) -> Check {
    let mut check = Check::new(
        "subnet-group-vpc",
        Section::Connectivity,
        "subnet group, VPC and security groups are consistent".into(),
    );
    let mut problems = false;
    // A fact that was not read: no ✔ on it.
    let mut unknown = false;
    let vpc = d.vpc.as_ref().map(|v| v.id.as_str());
    match &d.subnet_group {
        None => {
            problems = true;
            check.evidence.push("no cache subnet group is reported".into());
        }
        Some(g) => {
            let subnets: Vec<String> = g
                .subnets
                .iter()
                .map(|s| match &s.availability_zone {
                    Some(az) => format!("{} ({az})", s.id),
                    None => s.id.clone(),
                })
                .collect();
            check.evidence.push(format!(
                "subnet group {} in {}: {}",
                g.name.as_deref().unwrap_or("(serverless)"),
                g.vpc_id.as_deref().unwrap_or("an unknown VPC"),
                if subnets.is_empty() {
                    "no subnets".to_string()
                } else {
                    subnets.join(", ")
                }
            ));
            match g.state {
                LookupState::NotFound => {
                    problems = true;
                    check.evidence.push("the subnet group no longer exists".into());
                }
                LookupState::Unknown => {
                    unknown = true;
                    check.evidence.push("the subnet group could not be read".into());
                }
                LookupState::Found => unknown |= g.vpc_id.is_none(),
            }
            if let (Some(a), Some(b)) = (g.vpc_id.as_deref(), vpc)
                && a != b
            {
                problems = true;
                check
                    .evidence
                    .push(format!("the subnet group is in {a}, the deployment in {b}"));
            }
        }
    }
    let home = d.subnet_group.as_ref().and_then(|g| g.vpc_id.as_deref()).or(vpc);
    for g in &d.security_groups {
        match g.state {
            LookupState::Found => match (g.vpc_id.as_deref(), home) {
                (Some(a), Some(b)) if a != b => {
                    problems = true;
                    check
                        .evidence
                        .push(format!("security group {} is in {a}, not in {b}", g.id));
                }
                (a, b) => {
                    unknown |= a.is_none() || b.is_none();
                    check.evidence.push(format!(
                        "security group {} in {}",
                        g.id,
                        a.unwrap_or("an unknown VPC")
                    ));
                }
            },
            LookupState::NotFound => {
                problems = true;
                check.evidence.push(format!(
                    "security group {} is attached but no longer exists",
                    g.id
                ));
            }
            LookupState::Unknown => {
                unknown = true;
                check
                    .evidence
                    .push(format!("security group {} could not be read", g.id));
            }
        }
    }
    if d.unknown_facts.iter().any(|f| f == "security_groups") {
        unknown = true;
        check
            .evidence
            .push("the attached security groups could not be read".into());
    }
    if !problems && unknown {
        return check.skip_keeping_evidence();
    }
    if problems {
        check.fail(
            "attach security groups of the subnet group's VPC (`aws elasticache modify-replication-group \
             --security-group-ids ...`, or `modify-cache-cluster`); a deployment cannot move to another \
             subnet group's VPC in place"
                .into(),
        )
    } else {
        check.pass()
    }
}

/// This host's address toward `address` (the kernel's choice of source, from a UDP socket
/// "connected" there; nothing is sent).
pub(crate) async fn local_source(address: Option<&str>) -> Option<IpNet> {
    let address = address?;
    let target: SocketAddr = tokio::net::lookup_host(address).await.ok()?.next()?;
    let bind: SocketAddr = match target.ip() {
        IpAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
        IpAddr::V6(_) => "[::]:0".parse().ok()?,
    };
    let socket = std::net::UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| IpNet::from(ip))
}

/// Whether the endpoint has DNS addresses; not needed through `--connect`.
pub(crate) async fn resolves(d: &Deployment, connect: Option<&str>, timeout: Duration) -> Check {
    let check = Check::new(
        "endpoint-resolves",
        Section::Connectivity,
        "the endpoint resolves".into(),
    );
    let Some(endpoint) = &d.endpoint else {
        return check.fail(format!(
            "no endpoint is reported (status {}); wait until the deployment is available",
            d.status.as_deref().unwrap_or("unknown")
        ));
    };
    if let Some(connect) = connect {
        return check.skip(&format!(
            "not needed: connecting to {connect} (--connect) instead of {endpoint}"
        ));
    }
    let port = d.cache_port().unwrap_or(6379);
    match tokio::time::timeout(timeout, tokio::net::lookup_host((endpoint.as_str(), port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            check.with(format!("{endpoint} → {}", addrs.join(", "))).pass()
        }
        Ok(Err(e)) => check.with(format!("{endpoint}: {e}")).fail(
            "ElastiCache endpoints resolve to addresses inside the VPC; from outside, tunnel \
             (e.g. SSM port forwarding to the endpoint) and pass --connect HOST:PORT"
                .into(),
        ),
        Err(_) => check
            .with(format!("{endpoint}: no answer within {timeout:?}"))
            .fail("check this host's DNS resolver".into()),
    }
}

/// Whether a TCP connection to `address` opens within `timeout`.
pub(crate) async fn tcp_connect(address: Option<&str>, timeout: Duration) -> Check {
    let check = Check::new(
        "tcp-connect",
        Section::Connectivity,
        format!("a TCP connection opens within {}", humanize(timeout)),
    );
    let Some(address) = address else {
        return check.skip("no endpoint to connect to; pass --connect HOST:PORT");
    };
    let started = Instant::now();
    match probe::open(address, None, timeout).await {
        Ok(stream) => {
            let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            check
                .with(format!(
                    "connected to {address} ({peer}) in {} ms",
                    started.elapsed().as_millis()
                ))
                .pass()
        }
        Err(e) => check.with(e.to_string()).fail(
            "check the security groups, the subnets' network ACLs and routes between this host and the \
             VPC; from outside the VPC, tunnel (`aws ssm start-session --document-name \
             AWS-StartPortForwardingSessionToRemoteHost --parameters host=<endpoint>,portNumber=<port>,\
             localPortNumber=<port>`) and pass --connect 127.0.0.1:<port>"
                .into(),
        ),
    }
}

fn humanize(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::super::check::Mark;
    use super::*;

    fn deployment() -> Deployment {
        serde_json::from_str(include_str!("../../tests/fixtures/replication-group.json")).unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_inside_an_admitted_cidr_passes_and_one_outside_fails() {
        let d = deployment();
        let admitted = d.security_groups[0].ingress[0].ipv4_ranges[0].cidr.clone();
        let inside = parse_cidr(&admitted).unwrap().network();
        let check = source_admitted(&d, &[IpNet::from(inside)]);
        assert_eq!(check.mark, Mark::Pass, "{check:?}");
        let check = source_admitted(&d, &[net("203.0.113.7/32")]);
        assert_eq!(check.mark, Mark::Fail, "{check:?}");
        assert!(
            check
                .next_step
                .unwrap()
                .contains("authorize-security-group-ingress")
        );
    }

    #[test]
    fn subnet_group_and_vpc_agree_in_the_fixture_and_not_when_moved() {
        let mut d = deployment();
        assert_eq!(subnet_group_and_vpc(&d).mark, Mark::Pass);
        // Unread facts are no pass.
        let mut unread = deployment();
        unread.security_groups[0].state = LookupState::Unknown;
        assert_eq!(subnet_group_and_vpc(&unread).mark, Mark::Skip);
        d.security_groups[0].vpc_id = Some("vpc-elsewhere".into());
        let check = subnet_group_and_vpc(&d);
        assert_eq!(check.mark, Mark::Fail);
        assert!(
            check.evidence.iter().any(|e| e.contains("vpc-elsewhere")),
            "{check:?}"
        );
    }
}

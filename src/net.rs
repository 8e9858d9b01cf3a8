//! IP ranges: parsing CIDR blocks, containment, and whether a range holds publicly routable or
//! private-use addresses (from the IANA special-purpose registries), on `ipnet`.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;

/// Parses a CIDR block (a bare address is a /32 or /128).
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| format!("`{s}` is not a CIDR block"))
}

/// Whether `outer` contains every address of `inner` (false across address families).
pub fn contains(outer: &IpNet, inner: &IpNet) -> bool {
    outer.contains(inner)
}

/// Address ranges that are not publicly routable unicast: private use, shared, loopback,
/// link-local, documentation, benchmarking, multicast and reserved (IANA special-purpose
/// registries). Everything else is public.
const NON_PUBLIC_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// IPv6 public unicast is `2000::/3`; within it, these are not public.
const NON_PUBLIC_V6_IN_GLOBAL: &[&str] = &["2001:db8::/32", "2001::/23", "2002::/16", "3fff::/20"];

/// Private-use ranges (RFC 1918, RFC 6598 shared address space, RFC 4193 unique local).
const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|s| s.parse().expect("built-in CIDR")).collect()
}

/// Inclusive address interval of a network, as u128.
fn interval(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// Whether `[lo, hi]` is entirely covered by the union of `cover` (sorted intervals).
fn covered(mut lo: u128, hi: u128, cover: &[(u128, u128)]) -> bool {
    for &(a, b) in cover {
        if a > lo {
            return false;
        }
        if b >= lo {
            if b >= hi {
                return true;
            }
            lo = b + 1;
        }
    }
    false
}

fn sorted_intervals(list: &[&str]) -> Vec<(u128, u128)> {
    let mut v: Vec<_> = nets(list).iter().map(interval).collect();
    v.sort();
    v
}

static NON_PUBLIC_V4_INTERVALS: LazyLock<Vec<(u128, u128)>> =
    LazyLock::new(|| sorted_intervals(NON_PUBLIC_V4));
static NON_PUBLIC_V6_INTERVALS: LazyLock<Vec<(u128, u128)>> =
    LazyLock::new(|| sorted_intervals(NON_PUBLIC_V6_IN_GLOBAL));
static GLOBAL_V6: LazyLock<(u128, u128)> =
    LazyLock::new(|| interval(&"2000::/3".parse().expect("built-in CIDR")));
static PRIVATE_NETS: LazyLock<Vec<IpNet>> = LazyLock::new(|| nets(PRIVATE));

/// Whether a range contains at least one publicly routable address.
pub fn is_public(net: &IpNet) -> bool {
    let (lo, hi) = interval(net);
    match net {
        IpNet::V4(_) => !covered(lo, hi, &NON_PUBLIC_V4_INTERVALS),
        IpNet::V6(_) => {
            // IPv4-mapped addresses (::ffff:0:0/96) are IPv4 addresses.
            let (mlo, mhi) = (0xffff_0000_0000u128, 0xffff_ffff_ffffu128);
            let (vlo, vhi) = (lo.max(mlo), hi.min(mhi));
            if vlo <= vhi && !covered(vlo - mlo, vhi - mlo, &NON_PUBLIC_V4_INTERVALS) {
                return true;
            }
            // Public addresses are in 2000::/3, minus the special ranges inside it.
            let (glo, ghi) = *GLOBAL_V6;
            let (lo, hi) = (lo.max(glo), hi.min(ghi));
            lo <= hi && !covered(lo, hi, &NON_PUBLIC_V6_INTERVALS)
        }
    }
}

/// Whether a range lies entirely in private-use address space.
pub fn is_private(net: &IpNet) -> bool {
    PRIVATE_NETS.iter().any(|p| p.contains(net))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        parse_cidr(s).unwrap()
    }

    #[test]
    fn containment_is_per_family_and_inclusive() {
        assert!(contains(&net("10.0.0.0/16"), &net("10.0.0.0/16")));
        assert!(contains(&net("10.0.0.0/16"), &net("10.0.3.0/24")));
        assert!(
            !contains(&net("10.0.0.0/16"), &net("10.0.0.0/8")),
            "a superset is not inside"
        );
        assert!(!contains(&net("10.0.0.0/16"), &net("::/0")));
        assert!(contains(&net("2600:1f18::/56"), &net("2600:1f18::1")));
    }

    #[test]
    fn host_bits_are_ignored() {
        assert_eq!(net("10.1.2.3/16"), net("10.1.0.0/16"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("sg-123").is_err());
    }

    #[test]
    fn public_means_some_routable_address() {
        assert!(is_public(&net("0.0.0.0/0")));
        assert!(is_public(&net("::/0")));
        assert!(is_public(&net("::ffff:0:0/96")), "IPv4-mapped: all of IPv4");
        assert!(is_public(&net("::ffff:8.8.8.8/128")));
        assert!(!is_public(&net("::ffff:10.0.0.0/104")), "IPv4-mapped 10.0.0.0/8");
        assert!(is_public(&net("8.8.8.8/32")));
        assert!(is_public(&net("2600:1f18::/32")));
        assert!(!is_public(&net("10.0.0.0/8")));
        assert!(!is_public(&net("172.16.0.0/12")));
        assert!(!is_public(&net("192.168.1.0/24")));
        assert!(!is_public(&net("fd00::/8")));
        assert!(!is_public(&net("fe80::/10")));
        assert!(!is_public(&net("2001:db8::/32")));
        // 172.0.0.0/8 covers 172.16/12 but also public space around it.
        assert!(is_public(&net("172.0.0.0/8")));
        // Adjacent private blocks together are still not public.
        assert!(!is_public(&net("198.18.0.0/15")));
    }

    #[test]
    fn private_means_entirely_private_use() {
        assert!(is_private(&net("10.20.0.0/16")));
        assert!(is_private(&net("fd12:3456::/48")));
        assert!(!is_private(&net("0.0.0.0/0")));
        assert!(
            !is_private(&net("127.0.0.1/32")),
            "loopback is reserved, not private use"
        );
    }
}

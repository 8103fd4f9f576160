//! CIDR blocks for `IpFilter`, on `std::net` only.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A parsed `IpFilter.Cidr`: a network address (host bits cleared) and a prefix length that is
/// at most 32 for IPv4 and 128 for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `v6addr/n`; a bare address means `/32` or `/128`. Host bits beyond
    /// the prefix are accepted and cleared (`10.1.2.3/8` is `10.0.0.0/8`). The prefix must be 1 to
    /// 3 ASCII digits. No surrounding whitespace, no IPv6 zone identifiers.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix_len = match prefix {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n: u8 = p.parse().ok()?;
                if n > max {
                    return None;
                }
                n
            }
        };
        Some(Cidr { network: mask(addr, prefix_len), prefix_len })
    }

    /// The first address of the block.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The last address of the block (all host bits set).
    pub fn last(&self) -> IpAddr {
        match self.network {
            IpAddr::V4(a) => {
                let host = u32::MAX.checked_shr(u32::from(self.prefix_len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) | host))
            }
            IpAddr::V6(a) => {
                let host = u128::MAX.checked_shr(u32::from(self.prefix_len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) | host))
            }
        }
    }

    /// Whether the block is IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.network.is_ipv4()
    }

    /// Whether `ip` lies in the block. An address of the other family never does (no IPv4-mapped
    /// IPv6 translation).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix_len) == self.network
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

fn mask(addr: IpAddr, prefix_len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix_len.min(32))).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix_len.min(128))).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn parses_and_normalizes() {
        let c = Cidr::parse("10.1.2.3/8").expect("valid");
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert_eq!(c.last(), ip("10.255.255.255"));
        assert_eq!(Cidr::parse("10.1.2.3").map(|c| c.to_string()).as_deref(), Some("10.1.2.3/32"));
        assert_eq!(Cidr::parse("2001:db8::1").map(|c| c.to_string()).as_deref(), Some("2001:db8::1/128"));
        assert_eq!(Cidr::parse("0.0.0.0/0").map(|c| c.last()), Some(ip("255.255.255.255")));
        assert_eq!(Cidr::parse("::/0").map(|c| c.last()), Some(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert_eq!(Cidr::parse("2001:db8::/32").map(|c| c.last()), Some(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "/",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "10.0.0/8",
            "10.0.0.256",
            "01.2.3.4",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            "10.0.0.0/8/8",
            "fe80::1%eth0",
            "abc",
            "10.0.0.0/-1",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn containment_edges() {
        let c = Cidr::parse("192.168.1.0/24").expect("valid");
        assert!(c.contains(ip("192.168.1.0")));
        assert!(c.contains(ip("192.168.1.255")));
        assert!(!c.contains(ip("192.168.2.0")));
        assert!(!c.contains(ip("192.168.0.255")));
        assert!(!c.contains(ip("::ffff:192.168.1.1")));
        let all4 = Cidr::parse("0.0.0.0/0").expect("valid");
        assert!(all4.contains(ip("255.255.255.255")));
        assert!(!all4.contains(ip("::1")));
        let v6 = Cidr::parse("2001:db8::/127").expect("valid");
        assert!(v6.contains(ip("2001:db8::1")));
        assert!(!v6.contains(ip("2001:db8::2")));
    }
}

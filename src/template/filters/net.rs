//! Network address filters from `ansible.utils` that host roles use: `ipaddr`, `ipv4`,
//! `ipv6` (validation and the common queries: address, network, netmask, prefix, broadcast,
//! host, net, cidr/subnet, size, private/public, an index into a network) and `ipwrap`.
//! A value that is not an address gives `False`, as in Ansible; a list keeps the items that
//! pass.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::{fail, items_of};
use crate::template::convert::to_text;

pub(super) fn register(env: &mut Environment<'static>) {
    super::strict(env, "ipaddr", |v: Value, q: Option<Value>| {
        apply(v, q, None)
    });
    super::strict(env, "ipv4", |v: Value, q: Option<Value>| {
        apply(v, q, Some(4))
    });
    super::strict(env, "ipv6", |v: Value, q: Option<Value>| {
        apply(v, q, Some(6))
    });
    super::strict(env, "ipwrap", ipwrap);
}

/// An address with its prefix length (32/128 when none was given).
#[derive(Clone, Copy, Debug)]
struct Net {
    ip: IpAddr,
    prefix: u8,
    had_prefix: bool,
}

impl Net {
    fn bits(&self) -> u8 {
        if self.ip.is_ipv4() { 32 } else { 128 }
    }

    fn as_u128(&self) -> u128 {
        match self.ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        }
    }

    fn addr_of(&self, n: u128) -> IpAddr {
        match self.ip {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from((n & 0xffff_ffff) as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
        }
    }

    fn mask(&self) -> u128 {
        let bits = u32::from(self.bits());
        let host_bits = bits - u32::from(self.prefix);
        let all = if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        let host = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        all & !host
    }

    fn network(&self) -> IpAddr {
        self.addr_of(self.as_u128() & self.mask())
    }

    fn broadcast(&self) -> IpAddr {
        let bits = u32::from(self.bits());
        let all = if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        self.addr_of((self.as_u128() & self.mask()) | (all & !self.mask()))
    }

    fn size(&self) -> u128 {
        let host_bits = u32::from(self.bits() - self.prefix);
        if host_bits >= 128 {
            u128::MAX
        } else {
            1u128 << host_bits
        }
    }
}

fn parse(s: &str) -> Option<Net> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => {
            if let Ok(n) = p.parse::<u8>() {
                n
            } else {
                // A dotted netmask (`10.0.0.0/255.0.0.0`).
                let m: Ipv4Addr = p.parse().ok()?;
                let m = u32::from(m);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return None;
                }
                m.leading_ones() as u8
            }
        }
        None => bits,
    };
    if prefix > bits {
        return None;
    }
    Some(Net {
        ip,
        prefix,
        had_prefix: s.contains('/'),
    })
}

fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(a) => {
            (a.segments()[0] & 0xfe00) == 0xfc00
                || a.is_loopback()
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// One query on one value; `Ok(None)` means the value does not qualify (Ansible's False).
fn query(raw: &str, q: &str, version: Option<u8>) -> Result<Option<Value>, Error> {
    let Some(n) = parse(raw) else { return Ok(None) };
    if let Some(v) = version
        && (v == 4) != n.ip.is_ipv4()
    {
        return Ok(None);
    }
    let with_prefix = |ip: IpAddr| format!("{ip}/{}", n.prefix);
    let is_net = n.had_prefix && n.ip == n.network() && n.prefix < n.bits();
    Ok(Some(match q {
        "" => Value::from(raw.trim()),
        "address" => {
            // Ansible answers None (not False) for the address of a whole network.
            if is_net && n.prefix < n.bits() - 1 {
                return Ok(Some(Value::from(())));
            }
            Value::from(n.ip.to_string())
        }
        "network" => Value::from(n.network().to_string()),
        "netmask" => Value::from(n.addr_of(n.mask()).to_string()),
        "hostmask" => Value::from(n.addr_of(n.size().wrapping_sub(1)).to_string()),
        "prefix" => Value::from(n.prefix),
        "broadcast" => Value::from(n.broadcast().to_string()),
        "host" => {
            if is_net && n.prefix < n.bits() - 1 {
                return Ok(Some(Value::from(())));
            }
            Value::from(with_prefix(n.ip))
        }
        "net" => {
            if !is_net {
                return Ok(Some(Value::from(())));
            }
            Value::from(with_prefix(n.network()))
        }
        "cidr" => Value::from(with_prefix(n.ip)),
        "subnet" => Value::from(with_prefix(n.network())),
        "size" => Value::from(n.size()),
        "private" => {
            if !is_private(&n.ip) {
                return Ok(None);
            }
            Value::from(raw.trim())
        }
        "public" => {
            if is_private(&n.ip)
                || n.ip.is_loopback()
                || n.ip.is_multicast()
                || n.ip.is_unspecified()
            {
                return Ok(None);
            }
            Value::from(raw.trim())
        }
        "ipv4" | "4" => {
            if !n.ip.is_ipv4() {
                return Ok(None);
            }
            Value::from(raw.trim())
        }
        "ipv6" | "6" => {
            if n.ip.is_ipv4() {
                return Ok(None);
            }
            Value::from(raw.trim())
        }
        "wrap" | "wrapped" => Value::from(wrap(raw.trim())),
        "first_usable" => Value::from(n.addr_of((n.as_u128() & n.mask()) + 1).to_string()),
        "last_usable" => {
            let b = match n.broadcast() {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            Value::from(n.addr_of(b.saturating_sub(1)).to_string())
        }
        other => {
            let Ok(idx) = other.parse::<i128>() else {
                return Err(fail(format!("ipaddr: unknown filter type: {other}")));
            };
            let size = i128::try_from(n.size()).unwrap_or(i128::MAX);
            let idx = if idx < 0 { size + idx } else { idx };
            if idx < 0 || idx >= size {
                return Ok(None);
            }
            let base = n.as_u128() & n.mask();
            Value::from(with_prefix(n.addr_of(base + idx as u128)))
        }
    }))
}

fn apply(v: Value, q: Option<Value>, version: Option<u8>) -> Result<Value, Error> {
    let q = q
        .filter(|q| !q.is_none())
        .map(|q| to_text(&q))
        .unwrap_or_default();
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        let mut out = Vec::new();
        for item in items_of("ipaddr", &v)? {
            if let Some(r) = query(&to_text(&item), &q, version)?
                && !r.is_none()
            {
                out.push(r);
            }
        }
        return Ok(Value::from(out));
    }
    if v.kind() == ValueKind::Number {
        // An integer is an address: IPv4 when it fits in 32 bits.
        let Ok(n) = u128::try_from(v.clone()) else {
            return Ok(Value::from(false));
        };
        let ip = match u32::try_from(n) {
            Ok(x) => IpAddr::V4(Ipv4Addr::from(x)),
            Err(_) => IpAddr::V6(Ipv6Addr::from(n)),
        };
        return Ok(query(&ip.to_string(), &q, version)?.unwrap_or(Value::from(false)));
    }
    if v.kind() != ValueKind::String {
        return Ok(Value::from(false));
    }
    Ok(query(&to_text(&v), &q, version)?.unwrap_or(Value::from(false)))
}

fn wrap(s: &str) -> String {
    match parse(s) {
        Some(n) if !n.ip.is_ipv4() => match s.split_once('/') {
            Some((a, p)) => format!("[{a}]/{p}"),
            None => format!("[{s}]"),
        },
        _ => s.to_string(),
    }
}

fn ipwrap(v: Value) -> Result<Value, Error> {
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Ok(Value::from(
            items_of("ipwrap", &v)?
                .iter()
                .map(|i| Value::from(wrap(&to_text(i))))
                .collect::<Vec<_>>(),
        ));
    }
    Ok(Value::from(wrap(&to_text(&v))))
}

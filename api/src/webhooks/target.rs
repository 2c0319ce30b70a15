//! Where a webhook may be sent (no SSRF): an `https` URL whose host resolves only to public
//! unicast addresses. Checked when the URL is saved ([`parse_url`], which needs no DNS:
//! names are resolved at send time) and again at each send ([`resolve`]): the name is
//! resolved once, every address checked, and the connection made to the checked address
//! (the transport pins it, keeping the original Host and SNI), so a name that later
//! resolves elsewhere (DNS rebinding) cannot redirect a delivery.
//!
//! `WEBHOOK_ALLOW_PRIVATE=true` (refused in production) admits plain `http` and every
//! address, for development and tests on loopback.

use crate::error::{AppError, AppResult};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::{Host, Url};

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Parses and checks a webhook URL as saved: `https` (or `http` when private targets are
/// allowed), a host, no credentials, and no literal address that is not public. A name is
/// checked when it is resolved, at each send, and here only `localhost`'s family.
pub fn parse_url(raw: &str, field: &str, allow_private: bool) -> AppResult<Url> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(AppError::bad_input(field, "is too long"));
    }
    let url = Url::parse(raw).map_err(|_| AppError::bad_input(field, "is not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(AppError::bad_input(field, "must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::bad_input(field, "must not carry credentials"));
    }
    match url.host() {
        None => return Err(AppError::bad_input(field, "must name a host")),
        Some(_) if allow_private => {}
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), field)?,
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), field)?,
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") || !d.contains('.') {
                return Err(refused(field));
            }
        }
    }
    Ok(url)
}

fn refused(field: &str) -> AppError {
    AppError::bad_input(
        field,
        "must not point at a private, loopback or link-local address",
    )
}

fn check_ip(ip: IpAddr, field: &str) -> AppResult<()> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(refused(field))
    }
}

/// Whether a delivery may connect to `ip`: a global unicast address, not private, loopback,
/// link-local, unique-local, unspecified, multicast, CGNAT, reserved, documentation, or an
/// IPv4 address embedded in IPv6 (mapped, compatible, NAT64, 6to4) that is one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network", unspecified
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed an IPv4 address.
    let embedded = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        // `::` and `::1` fall here too: neither is public.
        return ip.segments()[6] != 0 && is_public_v4(embedded());
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded());
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address is in the next 32 bits.
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_public_v4(v4);
    }
    !((s[0] & 0xfe00) == 0xfc00 // unique-local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0)) // Teredo
}

/// Looks a name up (the system resolver in production; tests give their own).
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The system resolver, through tokio.
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// Where a send connects: the URL's host name (for Host and SNI) and the checked address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The name to pin, or `None` when the URL holds an address.
    pub host: Option<String>,
    pub addr: SocketAddr,
}

/// Why a send was refused before connecting. Shown in the delivery log: no internal detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Resolves a saved URL once at send time and checks every address it resolves to; the
/// first is where the send connects. Refused: a scheme or address the settings do not allow,
/// a name that resolves to nothing, or to any address that is not public.
pub async fn resolve(
    url: &Url,
    resolver: &dyn Resolver,
    allow_private: bool,
) -> Result<Pinned, Refusal> {
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(Refusal("the URL is not https".into())),
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Refusal("the URL has no port".into()))?;
    let (host, addrs) = match url.host() {
        None => return Err(Refusal("the URL has no host".into())),
        Some(Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(Host::Domain(d)) => {
            let addrs = resolver
                .lookup(d, port)
                .await
                .map_err(|_| Refusal(format!("{d} did not resolve")))?;
            (Some(d.to_string()), addrs)
        }
    };
    let Some(first) = addrs.first().copied() else {
        return Err(Refusal("the host resolved to no address".into()));
    };
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(Refusal(
            "the host resolves to a private, loopback or link-local address".into(),
        ));
    }
    Ok(Pinned { host, addr: first })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn private_loopback_link_local_and_reserved_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "127.5.5.5",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(s)), "{s} should be refused");
        }
    }

    #[test]
    fn global_unicast_addresses_are_public() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn saved_urls_must_be_https_to_a_public_host_unless_private_targets_are_allowed() {
        for bad in [
            "http://partner.example/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[::ffff:7f00:1]/hook",
            "https://localhost/hook",
            "https://api.localhost/hook",
            "https://intranet/hook",
            "https://user:pw@partner.example/hook",
            "ftp://partner.example/hook",
            "not a url",
        ] {
            assert!(parse_url(bad, "input.url", false).is_err(), "{bad}");
        }
        assert!(parse_url("https://partner.example/hook", "input.url", false).is_ok());
        assert!(parse_url("https://8.8.8.8/hook", "input.url", false).is_ok());
        assert!(parse_url("http://127.0.0.1:9000/hook", "input.url", true).is_ok());
    }

    /// Answers every name with the same addresses and counts the lookups.
    struct Fixed(Vec<IpAddr>, AtomicUsize);

    #[async_trait::async_trait]
    impl Resolver for Fixed {
        async fn lookup(&self, _: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Ok(self.0.iter().map(|&ip| SocketAddr::new(ip, port)).collect())
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("a URL")
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_private_address_is_refused_at_send_time() {
        for addrs in [
            vec![ip("127.0.0.1")],
            vec![ip("10.0.0.7")],
            vec![ip("169.254.169.254")],
            vec![ip("::1")],
            // One bad address among good ones is enough to refuse.
            vec![ip("8.8.8.8"), ip("192.168.0.10")],
        ] {
            let r = Fixed(addrs.clone(), AtomicUsize::new(0));
            let got = resolve(&url("https://partner.example/hook"), &r, false).await;
            assert!(got.is_err(), "{addrs:?} should be refused");
        }
    }

    #[tokio::test]
    async fn a_public_name_is_resolved_once_and_pinned_to_the_checked_address() {
        let r = Fixed(vec![ip("93.184.215.14")], AtomicUsize::new(0));
        let got = resolve(&url("https://partner.example:8443/hook"), &r, false)
            .await
            .expect("allowed");
        assert_eq!(
            got,
            Pinned {
                host: Some("partner.example".into()),
                addr: "93.184.215.14:8443".parse().expect("an address"),
            }
        );
        assert_eq!(r.1.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn literal_private_addresses_and_plain_http_are_refused_at_send_time() {
        let r = Fixed(vec![], AtomicUsize::new(0));
        for u in [
            "https://127.0.0.1/hook",
            "https://[::1]/hook",
            "https://10.0.0.1/",
            "http://partner.example/",
        ] {
            assert!(resolve(&url(u), &r, false).await.is_err(), "{u}");
        }
        assert_eq!(r.1.load(Ordering::SeqCst), 0);
        let allowed = resolve(&url("http://127.0.0.1:9/hook"), &r, true).await;
        assert!(allowed.is_ok());
    }

    #[tokio::test]
    async fn the_system_resolver_refuses_localhost() {
        let got = resolve(&url("https://localhost:8443/hook"), &SystemResolver, false).await;
        assert!(got.is_err());
    }
}

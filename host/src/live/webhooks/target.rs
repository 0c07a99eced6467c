//! Where a webhook may point. An endpoint's URL is the admin's to choose, but the service
//! makes the request from inside the network: a URL on loopback, a private range or the
//! cloud's metadata address would let whoever registers it reach what the service reaches.
//! Such targets are refused unless `WEBHOOK_ALLOW_PRIVATE` says otherwise (a shop whose
//! receivers are on its own network; the tests, whose receivers are on loopback). The check
//! is made when the endpoint is registered, on the URL and on what its name resolves to, and
//! again at every delivery on the addresses the connection uses (a name may resolve
//! elsewhere later).

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest URL accepted.
pub const URL_MAX: usize = 2048;

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a URL: {0}")]
    Malformed(String),
    #[error("only http and https URLs are delivered to")]
    Scheme,
    #[error("a URL of at most {URL_MAX} characters")]
    TooLong,
    #[error("credentials in the URL would be sent in the clear: put them in the secret")]
    Credentials,
    #[error(
        "{0} is a loopback, private or reserved address, refused unless WEBHOOK_ALLOW_PRIVATE=true"
    )]
    Private(IpAddr),
    #[error("{0} does not resolve")]
    Unresolved(String),
}

/// The addresses deliveries may go to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets {
    /// Loopback and private ranges allowed too.
    pub allow_private: bool,
}

impl Targets {
    /// The URL, if its form is one deliveries may go to; its host's addresses are checked
    /// by [`Targets::resolve`].
    pub fn parse(&self, text: &str) -> Result<Url, Refusal> {
        if text.len() > URL_MAX {
            return Err(Refusal::TooLong);
        }
        let url = Url::parse(text).map_err(|e| Refusal::Malformed(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.allowed(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.allowed(IpAddr::V6(ip))?,
            Some(url::Host::Domain(_)) => {}
            None => return Err(Refusal::Malformed("no host".into())),
        }
        Ok(url)
    }

    /// Every address `url`'s host resolves to, each allowed; the first refused otherwise.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<IpAddr>, Refusal> {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let found: Vec<IpAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| Refusal::Unresolved(host.to_owned()))?
            .map(|address| address.ip())
            .collect();
        if found.is_empty() {
            return Err(Refusal::Unresolved(host.to_owned()));
        }
        for ip in &found {
            self.allowed(*ip)?;
        }
        Ok(found)
    }

    pub fn allowed(&self, ip: IpAddr) -> Result<(), Refusal> {
        match self.allow_private || public(ip) {
            true => Ok(()),
            false => Err(Refusal::Private(ip)),
        }
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local
/// (the cloud metadata service is 169.254.169.254), shared (carrier-grade NAT),
/// unspecified, broadcast, multicast, documentation or reserved; an IPv6 address that
/// carries an IPv4 one is judged by that.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(ip),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 64:ff9b::/96 reaches IPv4 addresses, private ones too.
        || (first == 0x0064 && ip.segments()[1] == 0xff9b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_targets_unless_private_ones_are_allowed() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(!public(ip), "{private}");
            assert_eq!(Targets::default().allowed(ip), Err(Refusal::Private(ip)));
            assert_eq!(
                Targets {
                    allow_private: true
                }
                .allowed(ip),
                Ok(())
            );
        }
        for open in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(open.parse().unwrap()), "{open}");
        }
    }

    #[test]
    fn urls_are_http_or_https_without_credentials_and_not_to_private_literals() {
        let targets = Targets::default();
        assert!(
            targets
                .parse("https://hooks.example.com/orders?x=1")
                .is_ok()
        );
        assert_eq!(targets.parse("ftp://example.com/"), Err(Refusal::Scheme));
        assert_eq!(
            targets.parse("https://u:p@example.com/"),
            Err(Refusal::Credentials)
        );
        assert!(matches!(
            targets.parse("http://127.0.0.1:9000/"),
            Err(Refusal::Private(_))
        ));
        assert!(matches!(
            targets.parse("http://[::1]/"),
            Err(Refusal::Private(_))
        ));
        assert!(matches!(
            targets.parse("not a url"),
            Err(Refusal::Malformed(_))
        ));
        let long = format!("https://example.com/{}", "a".repeat(URL_MAX));
        assert_eq!(targets.parse(&long), Err(Refusal::TooLong));
        assert!(
            Targets {
                allow_private: true
            }
            .parse("http://127.0.0.1:9000/")
            .is_ok()
        );
    }

    #[tokio::test]
    async fn a_name_is_judged_by_what_it_resolves_to() {
        let url = Url::parse("http://localhost:9/").unwrap();
        assert!(matches!(
            Targets::default().resolve(&url).await,
            Err(Refusal::Private(_))
        ));
        assert!(
            Targets {
                allow_private: true
            }
            .resolve(&url)
            .await
            .is_ok()
        );
    }
}

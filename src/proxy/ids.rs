//! Request correlation: the request id, the W3C `traceparent`, and the client address behind
//! trusted proxies — what the access log records and what the gateway passes on.
//!
//! Request ids are UUID-shaped (version 8, RFC 9562 §5.8): a random 64-bit prefix drawn once
//! per process, then a counter. Replicas draw different prefixes, so ids do not collide across
//! replicas (before, ids were the process start second plus a counter: two replicas started in
//! the same second handed out the same ids); a counter instead of a random draw per request
//! keeps the cost at one atomic add. UUID-shaped, because Help Scout v2's `logRef` — which
//! carries the request id — is a UUID in the vendor's own answers.
//!
//! A client's own `X-Request-Id` is kept when it is a plausible id (bounded, token characters
//! only), so one id follows the request through the client's logs, the gateway's and the
//! upstream's. A client's `traceparent` is kept when it is well-formed (W3C Trace Context §3.2);
//! otherwise the gateway starts a trace of its own (and drops the client's `tracestate`, which
//! belongs to the refused parent).

use crate::config::Cidr;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// `X-Request-Id`.
pub const REQUEST_ID: &str = "x-request-id";
/// W3C `traceparent`.
pub const TRACEPARENT: &str = "traceparent";
/// W3C `tracestate`.
pub const TRACESTATE: &str = "tracestate";

/// Longest client `X-Request-Id` kept (longer ones are replaced).
const MAX_REQUEST_ID: usize = 128;
/// Longest `tracestate` passed on (W3C: 512 characters is the least a vendor must propagate).
const MAX_TRACESTATE: usize = 512;

fn prefix() -> u64 {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    *PREFIX.get_or_init(|| {
        let r = uuid::Uuid::new_v4().as_u128();
        (r >> 64) as u64 ^ r as u64
    })
}

/// A fresh id unique across processes: the per-process prefix, then a counter, with the
/// version and variant bits of a UUIDv8.
pub fn next_id() -> u128 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let raw = (u128::from(prefix()) << 64) | u128::from(n);
    uuid::Builder::from_custom_bytes(raw.to_be_bytes())
        .into_uuid()
        .as_u128()
}

/// `id` as a hyphenated UUID (uuid's own encoder: `to_string` would go through `fmt`).
pub fn format_id(id: u128) -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::from_u128(id)
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

/// Appends the `digits` lowest hex digits of `v`, lower case, most significant first.
fn push_hex(out: &mut String, v: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[(v >> (4 * i)) as usize & 0xf]));
    }
}

/// A client `X-Request-Id` worth keeping: 1 to 128 characters out of letters, digits and
/// `-_.:+/=@` (no spaces, quotes or control characters that could forge a log field).
pub fn valid_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_REQUEST_ID
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=@".contains(&b))
}

/// A `traceparent` as W3C Trace Context §3.2 defines it: `version-traceid-parentid-flags` in
/// lower-case hex, version not `ff`, neither id all zeros. Version `00` has exactly these four
/// fields; a later version may append `-…` fields, which are kept (§3.2.4: parse the known
/// prefix).
pub fn valid_traceparent(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 55 || (b.len() > 55 && b[55] != b'-') {
        return false;
    }
    let hex = |s: &[u8]| s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    let zero = |s: &[u8]| s.iter().all(|c| *c == b'0');
    let (version, trace, parent, flags) = (&b[0..2], &b[3..35], &b[36..52], &b[53..55]);
    let dashes = b[2] == b'-' && b[35] == b'-' && b[52] == b'-';
    dashes
        && hex(version)
        && version != b"ff"
        && (version != b"00" || b.len() == 55)
        && hex(trace)
        && !zero(trace)
        && hex(parent)
        && !zero(parent)
        && hex(flags)
}

/// A `traceparent` starting a new trace: the trace id is the request's own id (unique), the
/// parent id derived from it, flags `00` (not sampled: the gateway records no spans).
pub fn new_traceparent(id: u128) -> String {
    // SplitMix64 finaliser: spreads the counter bits; `| 1` keeps the parent id non-zero.
    let mut z = (id as u64) ^ ((id >> 64) as u64);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // Written digit by digit: `format!` with `{:032x}` costs several times as much, once per
    // request that brings no trace of its own.
    let mut out = String::with_capacity(55);
    out.push_str("00-");
    push_hex(&mut out, id, 32);
    out.push('-');
    push_hex(&mut out, u128::from(z | 1), 16);
    out.push_str("-00");
    out
}

/// A `tracestate` worth passing on along a kept `traceparent`: bounded, visible ASCII.
pub fn valid_tracestate(v: &str) -> bool {
    v.len() <= MAX_TRACESTATE && v.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The request's correlation headers, decided once per request, before anything else.
#[derive(Clone, Debug, Default)]
pub struct Correlation {
    /// The request id: the client's `X-Request-Id` when valid, else a fresh UUID.
    pub request_id: String,
    /// The `traceparent` passed on: the client's when valid, else a new trace.
    pub traceparent: String,
    /// The client's `tracestate`, kept only along the client's own `traceparent`.
    pub tracestate: Option<String>,
}

impl Correlation {
    /// From the client's headers (each `None` when absent or repeated).
    pub fn from_client(
        request_id: Option<&str>,
        traceparent: Option<&str>,
        tracestate: Option<&str>,
    ) -> Correlation {
        let id = next_id();
        let request_id = request_id
            .map(str::trim)
            .filter(|v| valid_request_id(v))
            .map_or_else(|| format_id(id), str::to_string);
        let kept = traceparent.map(str::trim).filter(|v| valid_traceparent(v));
        Correlation {
            request_id,
            traceparent: kept.map_or_else(|| new_traceparent(id), str::to_string),
            tracestate: kept
                .and(tracestate)
                .map(str::trim)
                .filter(|v| !v.is_empty() && valid_tracestate(v))
                .map(str::to_string),
        }
    }

    /// The headers to send upstream, names lower case.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![
            (REQUEST_ID.to_string(), self.request_id.clone()),
            (TRACEPARENT.to_string(), self.traceparent.clone()),
        ];
        if let Some(ts) = &self.tracestate {
            h.push((TRACESTATE.to_string(), ts.clone()));
        }
        h
    }
}

/// The client's address: the peer itself, unless the peer is a trusted proxy and sent
/// `X-Forwarded-For`. Then the list is walked from the right (the hop nearest the gateway)
/// past every trusted proxy; the first address not trusted is the client. An entry that is not
/// an address stops the walk at the last trusted hop (whatever wrote it cannot be believed);
/// a list of trusted proxies only yields its leftmost entry.
pub fn client_addr(peer: Option<IpAddr>, xff: Option<&str>, trusted: &[Cidr]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer = peer?.to_canonical();
    let Some(xff) = xff.filter(|_| is_trusted(peer)) else {
        return Some(peer);
    };
    let mut client = peer;
    for entry in xff.rsplit(',') {
        let Some(ip) = parse_hop(entry.trim()) else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .or_else(|_| s.parse::<std::net::SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_and_distinct() {
        let a = format_id(next_id());
        let b = format_id(next_id());
        assert_ne!(a, b);
        for id in [&a, &b] {
            let u = uuid::Uuid::parse_str(id).expect("uuid");
            assert_eq!(u.get_version_num(), 8, "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        }
        // Same process: same prefix (the first 16 hex digits but the version nibble).
        assert_eq!(a[..13], b[..13]);
    }

    #[test]
    fn traceparent_format() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(valid_traceparent(ok));
        assert!(valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        ));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            assert!(!valid_traceparent(bad), "{bad:?} accepted");
        }
        let fresh = new_traceparent(next_id());
        assert!(valid_traceparent(&fresh), "{fresh}");
        // Digit by digit, as `format!` wrote it.
        for id in [
            0,
            1,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
            next_id(),
        ] {
            let tp = new_traceparent(id);
            assert_eq!(tp.len(), 55);
            assert_eq!(&tp[..36], format!("00-{id:032x}-"));
            let parent = u64::from_str_radix(&tp[36..52], 16).expect("hex");
            assert_eq!(&tp[36..], format!("{parent:016x}-00"));
            assert_eq!(
                format_id(id),
                uuid::Uuid::from_u128(id).hyphenated().to_string()
            );
        }
    }

    #[test]
    fn client_values_are_kept_or_replaced() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let c = Correlation::from_client(Some("abc-123"), Some(tp), Some("rojo=00f067aa0ba902b7"));
        assert_eq!(c.request_id, "abc-123");
        assert_eq!(c.traceparent, tp);
        assert_eq!(c.tracestate.as_deref(), Some("rojo=00f067aa0ba902b7"));
        // Invalid: replaced, and the tracestate of a refused parent goes with it.
        let c = Correlation::from_client(Some("a b\"c"), Some("00-zz"), Some("rojo=1"));
        assert!(
            uuid::Uuid::parse_str(&c.request_id).is_ok(),
            "{}",
            c.request_id
        );
        assert!(valid_traceparent(&c.traceparent));
        assert_ne!(c.traceparent, "00-zz");
        assert_eq!(c.tracestate, None);
        let long = "x".repeat(MAX_REQUEST_ID + 1);
        let c = Correlation::from_client(Some(&long), None, None);
        assert_ne!(c.request_id, long);
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("a\nb"));
        assert!(valid_request_id(&"x".repeat(MAX_REQUEST_ID)));
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let trusted = [
            Cidr::parse("10.0.0.0/8").expect("net"),
            Cidr::parse("127.0.0.1").expect("host"),
        ];
        let xff = Some("203.0.113.7, 10.1.1.1");
        // Untrusted peer: its own address, whatever it claims.
        assert_eq!(
            client_addr(Some(ip("198.51.100.2")), xff, &trusted),
            Some(ip("198.51.100.2"))
        );
        // Trusted peer: the first untrusted hop from the right.
        assert_eq!(
            client_addr(Some(ip("127.0.0.1")), xff, &trusted),
            Some(ip("203.0.113.7"))
        );
        // A forged leftmost entry does not win over the first untrusted hop.
        assert_eq!(
            client_addr(
                Some(ip("10.0.0.5")),
                Some("1.1.1.1, 198.51.100.9"),
                &trusted
            ),
            Some(ip("198.51.100.9"))
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            client_addr(
                Some(ip("10.0.0.5")),
                Some("1.1.1.1, junk, 10.2.2.2"),
                &trusted
            ),
            Some(ip("10.2.2.2"))
        );
        // Ports and IPv4-mapped peers.
        assert_eq!(
            client_addr(
                Some(ip("::ffff:127.0.0.1")),
                Some("[2001:db8::1]:443"),
                &trusted
            ),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            client_addr(Some(ip("127.0.0.1")), None, &trusted),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(client_addr(None, xff, &trusted), None);
        // No trusted proxies configured: never believed.
        assert_eq!(
            client_addr(Some(ip("127.0.0.1")), xff, &[]),
            Some(ip("127.0.0.1"))
        );
    }
}

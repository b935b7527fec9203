//! A small Redis client: RESP2 over tokio TCP or TLS (rustls, the stack Pingora already builds),
//! a pool of idle connections, and one deadline around every call.
//!
//! Why not the `redis` crate: the gateway needs six commands (`SET NX PX`, `GET`, `EVAL`, `DEL`,
//! `PING`, `AUTH`/`SELECT` on connect), a hard timeout on each (a hung Redis must not hang a
//! request), and TLS with the rustls and certificate loading that are already in the tree. The
//! crate would add its own dependency tree (and a second TLS integration) to a build that takes
//! minutes on two cores; this file is the whole protocol the gateway speaks.

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest reply accepted (a bulk string or the whole of an array): replies are tokens, counts
/// and short strings; anything bigger is a protocol error, not something to buffer.
const MAX_REPLY: usize = 1 << 20;

/// Idle connections kept for reuse.
const POOL_MAX: usize = 32;

/// A RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `:1`.
    Int(i64),
    /// `$3\r\nabc` (`None`: the null bulk string `$-1`).
    Bulk(Option<Vec<u8>>),
    /// `*2 ...` (`None`: the null array `*-1`).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The integer of an `Int` reply (or of a bulk string holding digits).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            Reply::Bulk(Some(b)) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum RedisError {
    /// Connect, I/O or TLS failure, or the deadline passed: Redis is unavailable.
    Io(String),
    /// Redis answered `-ERR ...` (a script error, a wrong password).
    Server(String),
    /// The bytes received are not RESP.
    Protocol(String),
    /// Not sent: Redis is marked down until the pinger sees it answer again.
    Down,
}

impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisError::Io(e) => write!(f, "redis unreachable: {e}"),
            RedisError::Server(e) => write!(f, "redis error: {e}"),
            RedisError::Protocol(e) => write!(f, "redis protocol error: {e}"),
            RedisError::Down => f.write_str("redis marked down (waiting for the pinger)"),
        }
    }
}

/// Where and how to connect (parsed from `cluster.redis_url` by the config validation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `rediss://`.
    pub tls: bool,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (default 6379).
    pub port: u16,
    /// ACL user name from the URL (`redis://user@host`), if any.
    pub username: Option<String>,
    /// Database number from the URL path (`/2`), default 0.
    pub db: u32,
}

/// Supplies the password at connect time, so a rotated secret file is used by the next
/// connection without a restart.
pub type PasswordSource = Arc<dyn Fn() -> Option<String> + Send + Sync>;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One connection with its read buffer.
struct Conn {
    io: Box<dyn Io>,
    buf: BytesMut,
}

/// A pooled client. Calls never share a connection: each takes an idle one (or opens one) and
/// puts it back only after a complete reply, so a timed-out call never leaves a half-read
/// reply on a connection someone else will use.
pub struct Client {
    endpoint: Endpoint,
    password: PasswordSource,
    tls: Option<Arc<pingora::tls::ClientConfig>>,
    timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

impl Client {
    /// A client; nothing is connected until the first call. `ca_file` adds a private CA to the
    /// platform roots for `rediss://`.
    pub fn new(
        endpoint: Endpoint,
        password: PasswordSource,
        ca_file: Option<&std::path::Path>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let tls = if endpoint.tls {
            let mut roots = pingora::tls::RootCertStore::empty();
            // The platform store may be empty in a minimal image when a private CA is given.
            let platform = pingora::tls::load_platform_certs_incl_env_into_store(&mut roots);
            if let Some(ca) = ca_file {
                pingora::tls::load_ca_file_into_store(ca, &mut roots)
                    .map_err(|e| format!("cannot load {}: {e}", ca.display()))?;
            } else if let Err(e) = platform {
                return Err(format!("cannot load the platform CA certificates: {e}"));
            }
            // Pingora's own TLS uses the process-wide `ring` provider; install it if nothing has
            // yet (a no-op otherwise) so the builder below never lacks one.
            pingora::tls::install_default_crypto_provider();
            let config = pingora::tls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(Arc::new(config))
        } else {
            None
        };
        Ok(Client {
            endpoint,
            password,
            tls,
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The per-call deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one command and reads its reply, within the deadline. `-ERR` replies are
    /// [`RedisError::Server`]; the connection stays usable after them.
    pub async fn call(&self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        match tokio::time::timeout(self.timeout, self.call_inner(args)).await {
            Ok(r) => r,
            Err(_) => Err(RedisError::Io(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn call_inner(&self, args: &[&[u8]]) -> Result<Reply, RedisError> {
        let pooled = self.idle.lock().pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().await?,
        };
        let reply = roundtrip(&mut conn, args).await?;
        let mut idle = self.idle.lock();
        if idle.len() < POOL_MAX {
            idle.push(conn);
        }
        drop(idle);
        match reply {
            Err(e) => Err(RedisError::Server(e)),
            Ok(r) => Ok(r),
        }
    }

    /// Drops every idle connection (after Redis went away, they are all dead).
    pub fn reset(&self) {
        self.idle.lock().clear();
    }

    async fn connect(&self) -> Result<Conn, RedisError> {
        let ep = &self.endpoint;
        let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(|e| RedisError::Io(format!("connect {}:{}: {e}", ep.host, ep.port)))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = pingora::tls::ServerName::try_from(ep.host.clone())
                    .map_err(|e| RedisError::Io(format!("TLS server name {}: {e}", ep.host)))?;
                let tls = pingora::tls::TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| RedisError::Io(format!("TLS handshake: {e}")))?;
                Box::new(tls)
            }
        };
        let mut conn = Conn {
            io,
            buf: BytesMut::with_capacity(256),
        };
        if let Some(password) = (self.password)() {
            let reply = match &ep.username {
                Some(user) => {
                    roundtrip(&mut conn, &[b"AUTH", user.as_bytes(), password.as_bytes()]).await?
                }
                None => roundtrip(&mut conn, &[b"AUTH", password.as_bytes()]).await?,
            };
            // The server's message never contains the password; it names the failure. A refused
            // connection is an unavailable Redis for the gateway (marked down, probed again).
            reply.map_err(|e| RedisError::Io(format!("AUTH: {e}")))?;
        }
        if ep.db != 0 {
            let db = ep.db.to_string();
            roundtrip(&mut conn, &[b"SELECT", db.as_bytes()])
                .await?
                .map_err(|e| RedisError::Io(format!("SELECT: {e}")))?;
        }
        Ok(conn)
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One command on one connection: `Ok(Err(message))` is a `-ERR` reply.
async fn roundtrip(conn: &mut Conn, args: &[&[u8]]) -> Result<Result<Reply, String>, RedisError> {
    let io_err = |e: std::io::Error| RedisError::Io(e.to_string());
    conn.io.write_all(&encode(args)).await.map_err(io_err)?;
    conn.io.flush().await.map_err(io_err)?;
    loop {
        if let Some((reply, used)) = parse(&conn.buf)? {
            conn.buf.advance(used);
            return Ok(reply);
        }
        if conn.buf.len() > MAX_REPLY {
            return Err(RedisError::Protocol("reply too large".into()));
        }
        let n = conn.io.read_buf(&mut conn.buf).await.map_err(io_err)?;
        if n == 0 {
            return Err(RedisError::Io("connection closed by redis".into()));
        }
    }
}

/// Parses one complete reply from the start of `buf`: `Ok(None)` when more bytes are needed;
/// otherwise the reply (an `-ERR` as `Err(message)`) and the bytes it used.
pub fn parse(buf: &[u8]) -> Result<Parsed, RedisError> {
    parse_at(buf, 0, 0)
}

/// Nesting deeper than this is not a reply the gateway's commands produce.
const MAX_DEPTH: usize = 4;

/// A complete reply (an `-ERR` as `Err(message)`) and the bytes it used, or `None`: more bytes
/// are needed.
pub type Parsed = Option<(Result<Reply, String>, usize)>;

fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

fn number(bytes: &[u8]) -> Result<i64, RedisError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RedisError::Protocol("bad length or integer".into()))
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<Parsed, RedisError> {
    if depth > MAX_DEPTH {
        return Err(RedisError::Protocol("reply nested too deeply".into()));
    }
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    let Some((head, next)) = line(buf, at + 1) else {
        return Ok(None);
    };
    let text = || String::from_utf8_lossy(head).into_owned();
    match kind {
        b'+' => Ok(Some((Ok(Reply::Simple(text())), next))),
        b'-' => Ok(Some((Err(text()), next))),
        b':' => Ok(Some((Ok(Reply::Int(number(head)?)), next))),
        b'$' => {
            let len = number(head)?;
            if len < 0 {
                return Ok(Some((Ok(Reply::Bulk(None)), next)));
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > MAX_REPLY {
                return Err(RedisError::Protocol("bulk string too large".into()));
            }
            if buf.len() < next + len + 2 {
                return Ok(None);
            }
            if &buf[next + len..next + len + 2] != b"\r\n" {
                return Err(RedisError::Protocol("bulk string not terminated".into()));
            }
            Ok(Some((
                Ok(Reply::Bulk(Some(buf[next..next + len].to_vec()))),
                next + len + 2,
            )))
        }
        b'*' => {
            let n = number(head)?;
            if n < 0 {
                return Ok(Some((Ok(Reply::Array(None)), next)));
            }
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > MAX_REPLY / 4 {
                return Err(RedisError::Protocol("array too large".into()));
            }
            let mut items = Vec::with_capacity(n.min(16));
            let mut pos = next;
            for _ in 0..n {
                match parse_at(buf, pos, depth + 1)? {
                    None => return Ok(None),
                    // An error inside an array (a failed command of a script) fails the call.
                    Some((Err(e), _)) => return Ok(Some((Err(e), pos))),
                    Some((Ok(item), used)) => {
                        items.push(item);
                        pos = used;
                    }
                }
            }
            Ok(Some((Ok(Reply::Array(Some(items))), pos)))
        }
        other => Err(RedisError::Protocol(format!(
            "unexpected reply type byte 0x{other:02x}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands_as_bulk_arrays() {
        assert_eq!(
            encode(&[b"SET", b"k", b"v w"]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv w\r\n".to_vec()
        );
    }

    #[test]
    fn parses_every_reply_kind() {
        let ok = |b: &[u8]| parse(b).expect("valid").expect("complete");
        assert_eq!(ok(b"+OK\r\n"), (Ok(Reply::Simple("OK".into())), 5));
        assert_eq!(ok(b":-3\r\n").0, Ok(Reply::Int(-3)));
        assert_eq!(ok(b"$-1\r\n").0, Ok(Reply::Bulk(None)));
        assert_eq!(ok(b"$2\r\nab\r\n+x").1, 8);
        assert_eq!(ok(b"-ERR nope\r\n").0, Err("ERR nope".into()));
        assert_eq!(
            ok(b"*2\r\n:1\r\n$1\r\n7\r\n").0,
            Ok(Reply::Array(Some(vec![
                Reply::Int(1),
                Reply::Bulk(Some(b"7".to_vec()))
            ])))
        );
        assert_eq!(ok(b"*-1\r\n").0, Ok(Reply::Array(None)));
    }

    #[test]
    fn incomplete_replies_wait_for_more_bytes() {
        for partial in [&b""[..], b"+OK", b"$5\r\nab", b"*2\r\n:1\r\n", b":12"] {
            assert!(
                parse(partial).expect("valid so far").is_none(),
                "{partial:?}"
            );
        }
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        for bad in [
            &b"?x\r\n"[..],
            b":abc\r\n",
            b"$3\r\nabcXY",
            b"$99999999999\r\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

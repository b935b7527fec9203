//! The gateway's HTTP client toward upstreams: its own keep-alive pool for plain HTTP
//! ([`plain`](super::plain)) and Pingora's connector and connection pool for HTTPS, upstream
//! credentials (bearer, Basic API key, OAuth client credentials with a cached, refreshed token),
//! per-upstream timeouts, and the mapping of transport failures to 502/504 (SPEC §4, §6).
//!
//! Retry rule (SPEC §4): a write is never retried once its bytes may have reached the upstream;
//! a read on a reused pooled connection that failed before any answer is retried once on a fresh
//! connection; a 401 on a request sent with a cached OAuth token invalidates the token, fetches a
//! new one and retries once (the upstream refused the request, so nothing was applied).

use super::plain::{self, Failure};
use crate::canonical::{ApiError, ErrorKind};
use crate::config::{Upstream, UpstreamAuth};
use crate::dialect::UpstreamRequest;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use pingora::connectors::TransportConnector;
use pingora::protocols::http::v1::client::HttpSession;
use pingora::protocols::Stream;
use pingora::upstreams::peer::{HttpPeer, Peer};
use pingora::ErrorType;
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Largest upstream answer the gateway reads (an answer above it is treated as garbage: 502).
pub const MAX_UPSTREAM_BODY: usize = 1 << 20;

/// Write deadline when an upstream has none configured (every configured upstream has one).
const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle pooled upstream connection is kept. Shorter than common server keep-alive
/// timeouts, so the pool rarely hands out a connection the upstream already closed.
const POOL_IDLE: Duration = Duration::from_secs(20);

/// An upstream's answer, fully read.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// Time spent.
    pub elapsed: Duration,
}

/// Why a call failed before an answer arrived.
#[derive(Debug)]
pub enum CallError {
    /// Refused, reset, closed, TLS failure, or an answer that is not HTTP / too large: 502.
    BadGateway(String),
    /// Connect or read timeout: 504.
    Timeout(String),
}

impl CallError {
    /// The client-facing error. The upstream's name and the transport detail are the operator's
    /// business: they go to the log, never to the client (before, "Upstream crunch failed:
    /// ConnectRefused" reached clients).
    pub fn to_api(&self, upstream: &str) -> ApiError {
        match self {
            CallError::BadGateway(why) => {
                log::warn!("upstream {upstream} failed: {why}");
                ApiError::new(
                    ErrorKind::BadGateway,
                    "The upstream service could not be reached",
                )
            }
            CallError::Timeout(why) => {
                log::warn!("upstream {upstream} timed out: {why}");
                ApiError::new(ErrorKind::GatewayTimeout, "The upstream service timed out")
            }
        }
    }
}

/// The one transport-error classifier: how a Pingora error of an exchange with an upstream
/// becomes 502 or 504, for the translated, relayed and streamed paths alike (before, a TLS
/// handshake timeout was 504 on the translated path and 502 on the streamed one).
pub fn classify(e: &pingora::Error) -> CallError {
    match e.etype() {
        ErrorType::ConnectTimedout
        | ErrorType::ReadTimedout
        | ErrorType::WriteTimedout
        | ErrorType::TLSHandshakeTimedout => CallError::Timeout(e.etype().as_str().to_string()),
        _ => CallError::BadGateway(e.etype().as_str().to_string()),
    }
}

struct CachedToken {
    header: String,
    expires: Instant,
    /// Digest of the client id and secret that obtained it: after a rotation (SPEC §6) the
    /// token of the old secret is not used again; the next request fetches one with the new.
    credential: [u8; 32],
}

/// What a cached OAuth token is tied to (a digest: the cache holds no secret).
fn credential_digest(client_id: &str, secret: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(client_id.as_bytes());
    h.update([0]);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// How long a resolved upstream address is reused before the name is looked up again.
const DNS_TTL: Duration = Duration::from_secs(30);

/// The client. One per process: it owns the connection pool, the OAuth token cache and the
/// upstream address cache.
pub struct UpstreamClient {
    /// Idle connections to plain-HTTP upstreams.
    pool: plain::Pool,
    /// HTTPS upstreams (plain HTTP goes through [`plain`](super::plain)).
    transport: TransportConnector,
    tokens: Mutex<HashMap<String, CachedToken>>,
    addresses: Mutex<HashMap<(String, u16), (std::net::SocketAddr, Instant)>>,
    /// With `[cluster]`: OAuth tokens are shared through Redis (one replica fetches).
    cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
}

impl Default for UpstreamClient {
    fn default() -> Self {
        Self::new()
    }
}

impl UpstreamClient {
    /// A client with an empty pool.
    pub fn new() -> Self {
        Self::with_cluster(None)
    }

    /// A client that shares upstream OAuth tokens with the other replicas through `cluster`.
    pub fn with_cluster(cluster: Option<std::sync::Arc<crate::cluster::Cluster>>) -> Self {
        UpstreamClient {
            pool: plain::Pool::default(),
            transport: TransportConnector::new(None),
            tokens: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
            cluster,
        }
    }

    /// The upstream's socket address. A host name is resolved with the async resolver and
    /// cached for [`DNS_TTL`]: `HttpPeer::new` would resolve it synchronously on every request
    /// (blocking a runtime thread) and panic when the lookup fails.
    async fn resolve(&self, host: &str, port: u16) -> Result<std::net::SocketAddr, CallError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return Ok(std::net::SocketAddr::new(ip, port));
        }
        let key = (host.to_string(), port);
        if let Some((addr, at)) = self.addresses.lock().get(&key) {
            if at.elapsed() < DNS_TTL {
                return Ok(*addr);
            }
        }
        let addr = tokio::net::lookup_host((host, port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| CallError::BadGateway(format!("cannot resolve {host}")))?;
        self.addresses.lock().insert(key, (addr, Instant::now()));
        Ok(addr)
    }

    /// The Pingora peer for an upstream, with its timeouts.
    pub async fn peer(&self, up: &Upstream) -> Result<HttpPeer, CallError> {
        let addr = self.resolve(&up.host, up.port).await?;
        let mut peer = HttpPeer::new(addr, up.tls, up.sni.clone());
        peer.options.connection_timeout = Some(up.connect_timeout);
        peer.options.total_connection_timeout = Some(up.connect_timeout * 2);
        peer.options.read_timeout = Some(up.read_timeout);
        peer.options.write_timeout = Some(up.read_timeout);
        peer.options.idle_timeout = Some(POOL_IDLE);
        peer.options.verify_cert = up.tls_verify;
        peer.options.verify_hostname = up.tls_verify;
        if let Some(ca) = &up.ca {
            // Pingora checks the chain against these roots (platform + `ca_file`) and the
            // host name against the SNI, exactly as with the system roots.
            peer.options.ca = Some(ca.roots.clone());
            // The pool key does not cover the CA list: without this a connection verified
            // under another bundle (before a reload) could be reused.
            peer.group_key = ca.digest;
        }
        Ok(peer)
    }

    /// Sends one request with the upstream's credentials. `write` requests are never retried
    /// after bytes were sent (see the module docs). The returned `Answer` may carry any status.
    pub async fn send(
        &self,
        up: &Upstream,
        req: &UpstreamRequest,
        write: bool,
    ) -> Result<Answer, CallError> {
        let start = Instant::now();
        let auth = self.auth_header(up, false).await?;
        let mut answer = self.send_once(up, req, auth.as_deref(), write).await?;
        if answer.status == 401 && matches!(up.auth, UpstreamAuth::OAuth { .. }) {
            // The cached token may have been revoked or expired early: refresh and retry once.
            let auth = self.auth_header(up, true).await?;
            answer = self.send_once(up, req, auth.as_deref(), write).await?;
        }
        answer.elapsed = start.elapsed();
        Ok(answer)
    }

    async fn send_once(
        &self,
        up: &Upstream,
        req: &UpstreamRequest,
        auth: Option<&str>,
        write: bool,
    ) -> Result<Answer, CallError> {
        let wire = request_bytes(up, req, auth)?;
        if !up.tls {
            let head = req.method == "HEAD";
            return self.send_plain(up, &wire, head, write).await;
        }
        // Boxed for the reason given in `auth_header`: Pingora's TLS connect is a large future.
        Box::pin(self.send_tls(up, &wire, write)).await
    }

    /// [`send_once`](Self::send_once) toward an HTTPS upstream: Pingora's connector and pool,
    /// with the upstream's `ca_file`.
    async fn send_tls(&self, up: &Upstream, wire: &[u8], write: bool) -> Result<Answer, CallError> {
        let peer = self.peer(up).await?;
        let (stream, reused) = self
            .transport
            .get_stream(&peer)
            .await
            .map_err(|e| classify(&e))?;
        match self.exchange(stream, &peer, wire).await {
            Ok(a) => Ok(a),
            // A pooled connection the upstream had closed: a read is safe to repeat on a fresh
            // connection; a write is not (SPEC §4). A timeout is not a stale connection: repeating
            // it would double the wait before the 504.
            Err(Failure::BeforeAnswer(CallError::BadGateway(_))) if reused && !write => {
                let stream = self
                    .transport
                    .new_stream(&peer)
                    .await
                    .map_err(|e| classify(&e))?;
                self.exchange(stream, &peer, wire)
                    .await
                    .map_err(Failure::into_call)
            }
            Err(f) => Err(f.into_call()),
        }
    }

    /// [`send_once`](Self::send_once) toward a plain-HTTP upstream: a pooled or new tokio
    /// socket, the same retry rule. `head`: the request is a `HEAD` (its answer has no body).
    async fn send_plain(
        &self,
        up: &Upstream,
        wire: &[u8],
        head: bool,
        write: bool,
    ) -> Result<Answer, CallError> {
        let addr = self.resolve(&up.host, up.port).await?;
        let (stream, reused) = match self.pool.take(addr, POOL_IDLE) {
            Some(s) => (s, true),
            None => (plain::connect(addr, up.connect_timeout).await?, false),
        };
        let outcome = match plain::exchange(stream, wire, head, up.read_timeout).await {
            // The same rule as on the Pingora path (see `send_once`).
            Err(Failure::BeforeAnswer(CallError::BadGateway(_))) if reused && !write => {
                let stream = plain::connect(addr, up.connect_timeout).await?;
                plain::exchange(stream, wire, head, up.read_timeout).await
            }
            other => other,
        };
        let (answer, keep) = outcome.map_err(Failure::into_call)?;
        if let Some(stream) = keep {
            self.pool.give_back(addr, stream, POOL_IDLE);
        }
        Ok(answer)
    }

    /// One request on one connection. The request (header and body) goes out in a single write:
    /// Pingora's HTTP/1 client flushes the header and the body separately, and on loopback and
    /// in VMs every extra segment costs a wake-up of the peer (see `docs/benchmarks.md`). The
    /// answer is read with Pingora's HTTP/1 parser (lengths, chunked bodies, keep-alive rules).
    async fn exchange(
        &self,
        mut stream: Stream,
        peer: &HttpPeer,
        wire: &[u8],
    ) -> Result<Answer, Failure> {
        let write_timeout = peer.options.write_timeout.unwrap_or(DEFAULT_IO_TIMEOUT);
        let send = async {
            stream.write_all(wire).await?;
            stream.flush().await
        };
        plain::written(tokio::time::timeout(write_timeout, send).await)?;
        let mut session = HttpSession::new_with_options(stream, peer);
        // Pingora's connector hands out streams without timeouts (its proxy sets them itself
        // after connecting): without these an upstream slower than `read_timeout` kept the
        // client waiting forever instead of getting 504 (SPEC §4).
        session.read_timeout = peer.options.read_timeout;
        session.write_timeout = peer.options.write_timeout;
        loop {
            session
                .read_response()
                .await
                .map_err(|e| Failure::BeforeAnswer(classify(&e)))?;
            // Interim answers (100 Continue, 103 Early Hints) precede the real one.
            match session.get_status().map(|s| s.as_u16()) {
                Some(s) if (100..200).contains(&s) && s != 101 => continue,
                _ => break,
            }
        }
        let (status, headers) = match session.resp_header() {
            Some(h) => (
                h.status.as_u16(),
                h.headers
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_ascii_lowercase(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
            None => {
                return Err(Failure::After(CallError::BadGateway(
                    "no response header".into(),
                )))
            }
        };
        if status == 101 {
            return Err(Failure::After(CallError::BadGateway(
                "upstream switched protocols".into(),
            )));
        }
        let mut body = BytesMut::new();
        loop {
            match session.read_body_bytes().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
                        return Err(Failure::After(CallError::BadGateway(
                            "upstream answer too large".into(),
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(Failure::After(classify(&e))),
            }
        }
        // Back to the pool only when the answer was read to its end and both sides keep the
        // connection alive; `reuse` closes it otherwise.
        session.respect_keepalive();
        if let Some(stream) = session.reuse().await {
            self.transport
                .release_stream(stream, peer.reuse_hash(), Some(POOL_IDLE));
        }
        Ok(Answer {
            status,
            headers,
            body: body.freeze(),
            elapsed: Duration::ZERO,
        })
    }

    /// The `Authorization` value for an upstream (fetching or refreshing an OAuth token).
    /// A static credential's value was built with the configuration (`Upstream::static_auth`).
    async fn auth_header<'u>(
        &self,
        up: &'u Upstream,
        refresh: bool,
    ) -> Result<Option<Cow<'u, str>>, CallError> {
        match &up.auth {
            UpstreamAuth::None => Ok(None),
            UpstreamAuth::Bearer(_) | UpstreamAuth::BasicKey(_) => {
                Ok(up.static_auth.as_ref().map(|s| Cow::Borrowed(s.expose())))
            }
            // Boxed: the token fetch (Redis, an upstream exchange) is a large future, and every
            // request's future would otherwise be as large as it — and be copied whole into
            // its task's heap box (issue 11, `docs/benchmarks.md`).
            UpstreamAuth::OAuth { .. } => Box::pin(self.oauth_header(up, refresh))
                .await
                .map(|h| h.map(Cow::Owned)),
        }
    }

    /// [`auth_header`](Self::auth_header) for an OAuth upstream: the cached token, or one shared
    /// by the other replicas, or a new one.
    async fn oauth_header(
        &self,
        up: &Upstream,
        refresh: bool,
    ) -> Result<Option<String>, CallError> {
        match &up.auth {
            UpstreamAuth::None | UpstreamAuth::Bearer(_) | UpstreamAuth::BasicKey(_) => Ok(None),
            UpstreamAuth::OAuth {
                client_id,
                secret,
                token_path,
            } => {
                let credential = credential_digest(client_id, secret.expose());
                // A token fetched with a rotated-away secret is not reused (nor offered to the
                // shared cache as the refused one: it is simply stale).
                let cached = self
                    .tokens
                    .lock()
                    .get(&up.name)
                    .filter(|t| t.credential == credential)
                    .map(|t| (t.header.clone(), t.expires));
                if let (false, Some((header, expires))) = (refresh, &cached) {
                    if *expires > Instant::now() {
                        return Ok(Some(header.clone()));
                    }
                }
                // On a refresh, the token the upstream just refused must not come back from
                // the shared cache.
                let refused = cached.filter(|_| refresh).map(|(h, _)| h);
                let fetched = match &self.cluster {
                    Some(cluster) => {
                        let key = cluster.token_key(
                            &up.name,
                            &token_fingerprint(up, client_id, secret.expose(), token_path),
                        );
                        self.shared_token(cluster, up, &key, refused.as_deref())
                            .await?
                    }
                    None => None,
                };
                let (header, ttl) = match fetched {
                    Some(t) => t,
                    None => self.fetch_token(up, client_id, secret, token_path).await?,
                };
                self.tokens.lock().insert(
                    up.name.clone(),
                    CachedToken {
                        header: header.clone(),
                        expires: Instant::now() + ttl,
                        credential,
                    },
                );
                Ok(Some(header))
            }
        }
    }

    /// A token from the other replicas, or fetched by this one on their behalf: the replica
    /// that wins a short fetch lock asks the upstream and stores the token; the others read
    /// it. `None` when Redis is unavailable or nothing appeared in time: the caller fetches
    /// its own, as without a cluster.
    async fn shared_token(
        &self,
        cluster: &crate::cluster::Cluster,
        up: &Upstream,
        key: &str,
        refused: Option<&str>,
    ) -> Result<Option<(String, Duration)>, CallError> {
        // A fetch takes at most a connect and a read: wait that long for another replica's.
        let hold = up.connect_timeout + up.read_timeout;
        let deadline = Instant::now() + hold;
        loop {
            match cluster.token_get(key).await {
                Ok(Some((value, ttl))) if Some(value.as_str()) != refused => {
                    crate::metrics::metrics().cluster_token("shared");
                    return Ok(Some((value, ttl)));
                }
                Ok(Some((value, _))) => {
                    // Still the refused token: nobody refreshed it yet.
                    let _ = cluster.token_discard(key, &value).await;
                }
                Ok(None) => {}
                Err(_) => {
                    crate::metrics::metrics().cluster_fallback("token");
                    return Ok(None);
                }
            }
            match cluster.token_fetch_lock(key, hold).await {
                Ok(Some(owner)) => {
                    let UpstreamAuth::OAuth {
                        client_id,
                        secret,
                        token_path,
                    } = &up.auth
                    else {
                        cluster.token_fetch_unlock(key, &owner).await;
                        return Ok(None);
                    };
                    let fetched = self.fetch_token(up, client_id, secret, token_path).await;
                    if let Ok((value, ttl)) = &fetched {
                        let _ = cluster.token_set(key, value, *ttl).await;
                    }
                    cluster.token_fetch_unlock(key, &owner).await;
                    return fetched.map(Some);
                }
                Ok(None) => {}
                Err(_) => {
                    crate::metrics::metrics().cluster_fallback("token");
                    return Ok(None);
                }
            }
            if Instant::now() >= deadline {
                crate::metrics::metrics().cluster_fallback("token");
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Asks the upstream's token endpoint: the `Authorization` value and how long to use it.
    async fn fetch_token(
        &self,
        up: &Upstream,
        client_id: &str,
        secret: &crate::config::Secret,
        token_path: &str,
    ) -> Result<(String, Duration), CallError> {
        let form = crate::oauth::request_form(client_id, secret.expose());
        let req = UpstreamRequest {
            method: "POST",
            path: token_path.to_string(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some(Bytes::from(form)),
        };
        let start = Instant::now();
        let answer = self.send_once(up, &req, None, true).await?;
        crate::metrics::metrics().observe_upstream(
            &up.name,
            crate::dialect::Purpose::Token,
            start.elapsed(),
        );
        let granted = crate::oauth::read_granted(&answer.body);
        let (Some((token, ttl)), true) = (granted, answer.status == 200) else {
            return Err(CallError::BadGateway(format!(
                "token endpoint answered {}",
                answer.status
            )));
        };
        if self.cluster.is_some() {
            crate::metrics::metrics().cluster_token("fetched");
        }
        // Refresh a minute early so a request never leaves with a token about to expire.
        let ttl = Duration::from_secs(ttl.saturating_sub(60).max(1));
        Ok((format!("Bearer {token}"), ttl))
    }
}

/// Names an upstream's OAuth credentials in the shared cache without revealing them: a
/// rotated secret or another token endpoint gets another key.
fn token_fingerprint(up: &Upstream, client_id: &str, secret: &str, token_path: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [up.url().as_str(), token_path, client_id, secret] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole upstream request on the wire, header and body in one buffer, written directly:
/// Pingora's `RequestHeader` built a header map and a case map per request for what is a
/// dozen short lines. The same checks are kept: the request target must parse as an `http`
/// URI path (as `RequestHeader::build` required), names must be tokens and values free of
/// control bytes other than tab (`http::HeaderValue`'s rule), so no CR/LF can slip into a
/// line. A later field replaces an earlier one of the same name (as `insert_header` did).
fn request_bytes(
    up: &Upstream,
    req: &UpstreamRequest,
    auth: Option<&str>,
) -> Result<BytesMut, CallError> {
    wire_request(&up.host_value, &up.base_path, req, auth)
}

/// Whether `base_path` + `path` is a request target the URI parser would return unchanged:
/// it starts with `/` and has only unreserved characters, sub-delims, `:`, `@`, `/`, `%` and
/// `?` (RFC 3986 `pchar` and `query`; no `#`, space, quote or byte outside ASCII, which the
/// parser cuts, refuses or would have to be trusted on).
fn plain_target(base_path: &str, path: &str) -> bool {
    let ok = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'%'
                    | b'?'
            )
    };
    let first = base_path.bytes().chain(path.bytes()).next();
    first == Some(b'/') && base_path.bytes().all(ok) && path.bytes().all(ok)
}

/// [`request_bytes`] from the upstream's `Host` value and base path.
fn wire_request(
    host: &str,
    base_path: &str,
    req: &UpstreamRequest,
    auth: Option<&str>,
) -> Result<BytesMut, CallError> {
    let bad = |what: &str| CallError::BadGateway(format!("cannot build request: {what}"));
    let len = req.body.as_ref().map_or(0, Bytes::len);
    let mut len_text = itoa::Buffer::new();
    let mut fields: Vec<(&str, &str)> = Vec::with_capacity(req.headers.len() + 5);
    fields.push(("Host", host));
    fields.push(("User-Agent", "patchbay"));
    fields.push(("Accept", "application/json"));
    for (n, v) in &req.headers {
        put_field(&mut fields, n, v);
    }
    if let Some(a) = auth {
        put_field(&mut fields, "Authorization", a);
    }
    if req.body.is_some() || matches!(req.method, "POST" | "PUT" | "PATCH") {
        put_field(&mut fields, "Content-Length", len_text.format(len));
    }
    // Parsed as `RequestHeader::build` parsed it (a fragment is cut off, as it was), unless
    // every byte is one the URI parser takes as it is anywhere in a path or query: then the
    // parse could only give back the same bytes, and the copy it needs is saved.
    let parsed;
    let target: [&str; 2] = if plain_target(base_path, &req.path) {
        [base_path, &req.path]
    } else {
        parsed = http::uri::PathAndQuery::from_maybe_shared(Bytes::from(format!(
            "{base_path}{}",
            req.path
        )))
        .map_err(|_| bad("invalid request target"))?;
        [parsed.as_str(), ""]
    };
    let mut wire = BytesMut::with_capacity(
        req.method.len()
            + target[0].len()
            + target[1].len()
            + 16
            + fields
                .iter()
                .map(|(n, v)| n.len() + v.len() + 4)
                .sum::<usize>()
            + len,
    );
    wire.extend_from_slice(req.method.as_bytes());
    wire.extend_from_slice(b" ");
    wire.extend_from_slice(target[0].as_bytes());
    wire.extend_from_slice(target[1].as_bytes());
    wire.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &fields {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(bad("invalid header name"));
        }
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
        {
            return Err(bad("forbidden byte in a header value"));
        }
        wire.extend_from_slice(name.as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    if let Some(body) = &req.body {
        wire.extend_from_slice(body);
    }
    Ok(wire)
}

/// Sets a field, replacing an earlier one of the same name.
fn put_field<'a>(fields: &mut Vec<(&'a str, &'a str)>, name: &'a str, value: &'a str) {
    match fields
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(field) => *field = (name, value),
        None => fields.push((name, value)),
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `application/x-www-form-urlencoded` escaping (kept here for the tests that build token forms).
pub use crate::oauth::form_escape;

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: Option<&str>) -> UpstreamRequest {
        UpstreamRequest {
            method: "PATCH",
            path: "/api/resources/customers/7?x=1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.map(|b| Bytes::from(b.to_string())),
        }
    }

    fn text(wire: &BytesMut) -> &str {
        std::str::from_utf8(wire).unwrap_or("")
    }

    #[test]
    fn the_request_is_written_whole_with_later_fields_replacing_earlier_ones() {
        let r = req(
            &[("Content-Type", "application/json"), ("accept", "*/*")],
            Some("{}"),
        );
        let wire = wire_request("up:8080", "/base", &r, Some("Bearer t"));
        let wire = wire.map_err(|e| format!("{e:?}"));
        assert_eq!(
            wire.as_ref().map(text),
            Ok(
                "PATCH /base/api/resources/customers/7?x=1 HTTP/1.1\r\nHost: up:8080\r\n\
                User-Agent: patchbay\r\naccept: */*\r\nContent-Type: application/json\r\n\
                Authorization: Bearer t\r\nContent-Length: 2\r\n\r\n{}"
            )
        );
        // A write without a body still says how long it is.
        let wire = wire_request("up", "", &req(&[], None), None).map_err(|e| format!("{e:?}"));
        assert!(wire
            .as_ref()
            .map(text)
            .is_ok_and(|w| w.ends_with("Content-Length: 0\r\n\r\n")));
    }

    #[test]
    fn control_bytes_and_bad_names_never_reach_the_wire() {
        for (name, value) in [
            ("X-Id", "a\r\nInjected: yes"),
            ("X-Id", "a\nb"),
            ("X-Id", "a\0b"),
            ("X-Id", "a\x7fb"),
            ("Bad Name", "v"),
            ("Bad:Name", "v"),
            ("", "v"),
        ] {
            let r = wire_request("up", "", &req(&[(name, value)], None), None);
            assert!(
                matches!(r, Err(CallError::BadGateway(_))),
                "{name:?}: {value:?} was written"
            );
        }
        let mut r = req(&[], None);
        r.path = "/a b".into();
        assert!(
            wire_request("up", "", &r, None).is_err(),
            "a space in the path"
        );
    }

    /// The quick path for plain targets writes what the URI parser would have made of them,
    /// and everything else still goes through the parser (a fragment cut, a space refused).
    #[test]
    fn the_target_is_what_the_uri_parser_makes_of_it() {
        for (base, path) in [
            ("", "/api/resources/customers/12345"),
            ("/base", "/v2/customers/7?reload=true&x=%2F"),
            ("", "/a/b;c=d/@:!$&'()*+,=~_-.?q=a?b"),
            ("", "/a#frag"),
            ("", "/a\"{b}|^`[x]"),
            ("", "/caf\u{e9}"),
            ("", "/a b"),
            ("", "/a\x7f"),
            ("", "*"),
        ] {
            let mut r = req(&[], None);
            r.path = path.into();
            let ours = wire_request("up", base, &r, None)
                .ok()
                .map(|w| text(&w).split(' ').nth(1).unwrap_or("").to_owned());
            let parser =
                http::uri::PathAndQuery::from_maybe_shared(Bytes::from(format!("{base}{path}")))
                    .ok()
                    .map(|p| p.as_str().to_owned());
            assert_eq!(ours, parser, "{base}{path}");
        }
    }

    #[test]
    fn non_ascii_values_stay_allowed() {
        // A tab and non-ASCII text are allowed in values, as `http::HeaderValue` allows them.
        let ok = wire_request("up", "", &req(&[("X-Id", "a\tb é")], None), None);
        assert!(ok.is_ok());
    }
}

//! Several replicas that behave as one (SPEC §9): with `[cluster] redis_url`, Redis holds what
//! must be shared — per-customer locks of read-modify-write updates (leases with an owner token,
//! renewed while the write runs, released by compare-and-delete), the per-upstream rate limits
//! (one token bucket per upstream in Redis, updated by an atomic script) and the upstream OAuth
//! tokens (one replica fetches, the others read it).
//!
//! Requires Redis 5 or later (scripts that call `TIME` before writing rely on effects
//! replication, the default since 5).
//!
//! Failure model: every Redis call has a deadline (`cluster.timeout_ms`). A failed call marks
//! Redis down; while it is down no call is attempted (a hung Redis costs one timeout, not one per
//! request) and a pinger thread probes it every [`PING_EVERY`] to mark it up again. While down:
//! rate limits and tokens fall back to this process; writes that need the lock answer 503 or, with
//! `fallback = "local"`, use the in-process lock. `/readyz` shows the state without failing.
//!
//! Keys (all under `cluster.key_prefix`, default `patchbay`):
//! - `{prefix}:lock:{upstream}:{customer id}` — a lease: value = owner token, `PX` = lease.
//! - `{prefix}:rate:{upstream}:{per_minute}` — hash `{tokens, ts}` of the token bucket.
//! - `{prefix}:token:{upstream}:{fingerprint}` — `Authorization` value of the upstream token;
//!   `{...}:fetch` is the short lock held by the replica fetching it. The fingerprint hashes the
//!   URL, client id and secret, so a rotated secret never reads a token of the old one.

pub mod resp;

use crate::config::{ClusterConf, ClusterFallback, Store};
use crate::metrics::metrics;
use parking_lot::Mutex;
use resp::{Client, RedisError, Reply};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// How often the pinger probes Redis.
pub const PING_EVERY: Duration = Duration::from_millis(500);

/// Longest pause between two attempts at a held lock: short, because the lock is usually held
/// for one upstream round trip.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// Sets the lease only when it is free (`SET key token NX PX ms`) is a plain command; renewal
/// and release must check the owner first, atomically.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) else return 0 end";

/// `EVAL` of [`RELEASE`]: deletes `key` only while it still holds `owner`'s token.
fn release_command<'a>(key: &'a str, owner: &'a str) -> [&'a [u8]; 5] {
    [
        b"EVAL",
        RELEASE.as_bytes(),
        b"1",
        key.as_bytes(),
        owner.as_bytes(),
    ]
}

/// The per-upstream token bucket of `proxy::limits::RateLimiter`, in Redis: capacity = one
/// minute's worth, refilled continuously, timed by Redis's own clock (`TIME`) so replicas with
/// skewed clocks agree. Returns `{1, 0}` (taken) or `{0, seconds to wait}`. Numbers are stored as
/// strings: Lua numbers returned to Redis are truncated to integers.
const RATE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local per_ms = cap / 60000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1])
local ts = tonumber(v[2])
if tokens == nil or ts == nil then tokens = cap; ts = now end
tokens = math.min(cap, tokens + math.max(0, now - ts) * per_ms)
local ok = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
else
  wait = math.ceil((1 - tokens) / per_ms / 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return {ok, wait}
";

/// The process-wide cluster, when configured (read by `/readyz`).
static INSTALLED: OnceLock<Arc<Cluster>> = OnceLock::new();

/// Makes `cluster` the one `/readyz` reports on.
pub fn install(cluster: Arc<Cluster>) {
    let _ = INSTALLED.set(cluster);
}

/// The installed cluster, if `[cluster]` is configured.
pub fn installed() -> Option<&'static Arc<Cluster>> {
    INSTALLED.get()
}

/// Why a lock was not had.
#[derive(Debug)]
pub enum LockError {
    /// Another replica held it for the whole wait.
    Timeout,
    /// Redis is unavailable.
    Unavailable(String),
}

/// Redis as the shared engine of the replicas.
pub struct Cluster {
    client: Client,
    /// A separate connection pool for the pinger thread, whose runtime is not the proxy's.
    ping_client: Client,
    fallback: ClusterFallback,
    lease: Duration,
    prefix: String,
    url: String,
    up: AtomicBool,
    state: Mutex<Health>,
    /// Leases that may exist without an owner: a `SET NX` whose answer timed out may still be
    /// applied when a frozen Redis resumes, and a release may fail while Redis is away. The
    /// pinger deletes them (compare-and-delete) before it marks Redis up again, so they do not
    /// block their customer until the lease expires.
    orphans: Mutex<Vec<(String, String)>>,
}

/// Most orphaned leases remembered (beyond it, they expire on their own after `lease_ms`).
const MAX_ORPHANS: usize = 10_000;

struct Health {
    since: SystemTime,
    last_error: Option<String>,
}

impl Cluster {
    /// Builds the clients (nothing is connected yet). The password is read from the current
    /// snapshot at every new connection, so a rotated secret file applies without a restart.
    pub fn new(conf: &ClusterConf, store: Option<Arc<Store>>) -> Result<Arc<Self>, String> {
        let initial = conf.password.clone();
        let password: resp::PasswordSource = Arc::new(move || {
            let current = store
                .as_ref()
                .and_then(|s| s.current().cluster.as_ref().map(|c| c.password.clone()));
            current
                .unwrap_or_else(|| initial.clone())
                .map(|s| s.expose().to_string())
        });
        let client = Client::new(
            conf.endpoint.clone(),
            Arc::clone(&password),
            conf.ca_file.as_deref(),
            conf.timeout,
        )?;
        let ping_client = Client::new(
            conf.endpoint.clone(),
            password,
            conf.ca_file.as_deref(),
            conf.timeout,
        )?;
        metrics().init_cluster();
        // Unknown until the first probe: counted as down, so nothing waits on a Redis that was
        // never seen; the pinger's first probe runs at once.
        metrics().cluster_redis_up(false);
        Ok(Arc::new(Cluster {
            client,
            ping_client,
            fallback: conf.fallback,
            lease: conf.lease,
            prefix: conf.key_prefix.clone(),
            url: conf.url.clone(),
            up: AtomicBool::new(false),
            state: Mutex::new(Health {
                since: SystemTime::now(),
                last_error: Some("not probed yet".into()),
            }),
            orphans: Mutex::new(Vec::new()),
        }))
    }

    /// What writes needing the lock do while Redis is down.
    pub fn fallback(&self) -> ClusterFallback {
        self.fallback
    }

    /// Whether Redis answered the last call.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    fn mark_down(&self, op: &'static str, err: &RedisError) {
        metrics().cluster_redis_error(op);
        let RedisError::Io(_) = err else {
            // Redis answered (a script or auth error): it is there, but this call failed.
            log::error!("cluster {op}: {err}");
            self.state.lock().last_error = Some(err.to_string());
            return;
        };
        self.client.reset();
        if self.up.swap(false, Ordering::AcqRel) {
            log::warn!(
                "cluster: Redis at {} unavailable ({op}: {err}); writes that need the lock {}",
                self.url,
                match self.fallback {
                    ClusterFallback::Refuse => "answer 503",
                    ClusterFallback::Local => "use the local lock",
                }
            );
            metrics().cluster_redis_up(false);
            let mut st = self.state.lock();
            st.since = SystemTime::now();
            st.last_error = Some(err.to_string());
        } else {
            self.state.lock().last_error = Some(err.to_string());
        }
    }

    fn mark_up(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            log::info!("cluster: Redis at {} available", self.url);
            metrics().cluster_redis_up(true);
            // Connections opened before the outage are dead.
            self.client.reset();
            let mut st = self.state.lock();
            st.since = SystemTime::now();
        }
    }

    /// One call, skipped at once while Redis is marked down.
    async fn call(&self, op: &'static str, args: &[&[u8]]) -> Result<Reply, RedisError> {
        if !self.is_up() {
            return Err(RedisError::Io(
                "marked down (waiting for the pinger)".into(),
            ));
        }
        let r = self.client.call(args).await;
        if let Err(e) = &r {
            self.mark_down(op, e);
        }
        r
    }

    fn key(&self, kind: &str, parts: &[&str]) -> String {
        let mut k = format!("{}:{kind}", self.prefix);
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }

    /// Takes the lease of one customer of one upstream, waiting up to `wait` while another
    /// replica holds it. The lease is renewed while the returned [`Lease`] lives and released
    /// when it drops.
    pub async fn lock(
        self: &Arc<Self>,
        upstream: &str,
        customer: &str,
        wait: Duration,
    ) -> Result<Lease, LockError> {
        let key = self.key("lock", &[upstream, customer]);
        let token = uuid::Uuid::new_v4().to_string();
        let ms = self.lease.as_millis().to_string();
        let deadline = Instant::now() + wait;
        let mut backoff = Duration::from_millis(1);
        loop {
            let r = self
                .call(
                    "lock",
                    &[
                        b"SET",
                        key.as_bytes(),
                        token.as_bytes(),
                        b"NX",
                        b"PX",
                        ms.as_bytes(),
                    ],
                )
                .await;
            match r {
                Ok(Reply::Simple(_)) => {
                    metrics().cluster_lock("acquired");
                    return Ok(Lease::start(Arc::clone(self), key, token));
                }
                Ok(Reply::Bulk(None)) => {}
                Ok(other) => {
                    return Err(LockError::Unavailable(format!(
                        "unexpected answer to SET: {other:?}"
                    )))
                }
                Err(e) => {
                    // A SET that was sent may still be applied (a frozen Redis resumes);
                    // one that never left cannot.
                    if !matches!(e, RedisError::Down) {
                        self.orphan(key, token);
                    }
                    return Err(LockError::Unavailable(e.to_string()));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                metrics().cluster_lock("timeout");
                return Err(LockError::Timeout);
            }
            // Jitter keeps waiters of several replicas from retrying in lockstep.
            let jitter = Duration::from_micros(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 4);
            tokio::time::sleep((backoff + jitter).min(deadline - now)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn orphan(&self, key: String, token: String) {
        let mut o = self.orphans.lock();
        if o.len() < MAX_ORPHANS {
            o.push((key, token));
        }
    }

    /// Deletes the orphaned leases through the pinger's connection; those Redis could not be
    /// asked about stay for the next round.
    async fn release_orphans(&self) -> Result<(), RedisError> {
        let pending = std::mem::take(&mut *self.orphans.lock());
        let mut left = pending.into_iter();
        while let Some((k, t)) = left.next() {
            let r = self.ping_client.call(&release_command(&k, &t)).await;
            if let Err(e) = r {
                let mut o = self.orphans.lock();
                o.push((k, t));
                o.extend(left);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Takes one token of an upstream's shared bucket: `Ok(Ok(()))` taken, `Ok(Err(wait))`
    /// empty, `Err` Redis unavailable (the caller uses the local bucket).
    pub async fn rate_take(
        &self,
        upstream: &str,
        per_minute: u32,
    ) -> Result<Result<(), u64>, RedisError> {
        let key = self.key("rate", &[upstream, &per_minute.to_string()]);
        let cap = per_minute.to_string();
        let r = self
            .call(
                "rate_limit",
                &[
                    b"EVAL",
                    RATE.as_bytes(),
                    b"1",
                    key.as_bytes(),
                    cap.as_bytes(),
                ],
            )
            .await?;
        match r {
            Reply::Array(Some(items)) if items.len() == 2 => {
                let ok = items[0].as_int().unwrap_or(0);
                let wait = items[1].as_int().unwrap_or(1).max(1);
                Ok(if ok == 1 {
                    Ok(())
                } else {
                    Err(u64::try_from(wait).unwrap_or(1))
                })
            }
            other => Err(RedisError::Protocol(format!(
                "unexpected answer of the rate script: {other:?}"
            ))),
        }
    }

    /// The key of an upstream's shared OAuth token.
    pub fn token_key(&self, upstream: &str, fingerprint: &str) -> String {
        self.key("token", &[upstream, fingerprint])
    }

    /// The shared token and its remaining lifetime, if one is stored.
    pub async fn token_get(&self, key: &str) -> Result<Option<(String, Duration)>, RedisError> {
        let value = self.call("token", &[b"GET", key.as_bytes()]).await?;
        let Reply::Bulk(Some(v)) = value else {
            return Ok(None);
        };
        let ttl = self
            .call("token", &[b"PTTL", key.as_bytes()])
            .await?
            .as_int()
            .unwrap_or(-2);
        if ttl <= 0 {
            return Ok(None);
        }
        let ttl = Duration::from_millis(u64::try_from(ttl).unwrap_or(0));
        Ok(String::from_utf8(v).ok().map(|s| (s, ttl)))
    }

    /// Stores a freshly fetched token for the other replicas.
    pub async fn token_set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), RedisError> {
        let ms = ttl.as_millis().max(1).to_string();
        self.call(
            "token",
            &[
                b"SET",
                key.as_bytes(),
                value.as_bytes(),
                b"PX",
                ms.as_bytes(),
            ],
        )
        .await
        .map(|_| ())
    }

    /// Removes the shared token if it is still `value` (the upstream refused it).
    pub async fn token_discard(&self, key: &str, value: &str) -> Result<(), RedisError> {
        self.call("token", &release_command(key, value))
            .await
            .map(|_| ())
    }

    /// Tries once to become the replica that fetches the token (a short lease on
    /// `{key}:fetch`): `Some(owner token)` on success.
    pub async fn token_fetch_lock(
        &self,
        key: &str,
        hold: Duration,
    ) -> Result<Option<String>, RedisError> {
        let lock = format!("{key}:fetch");
        let owner = uuid::Uuid::new_v4().to_string();
        let ms = hold.as_millis().max(1).to_string();
        let r = self
            .call(
                "token",
                &[
                    b"SET",
                    lock.as_bytes(),
                    owner.as_bytes(),
                    b"NX",
                    b"PX",
                    ms.as_bytes(),
                ],
            )
            .await?;
        Ok(matches!(r, Reply::Simple(_)).then_some(owner))
    }

    /// Releases the fetch lock taken by [`Cluster::token_fetch_lock`].
    pub async fn token_fetch_unlock(&self, key: &str, owner: &str) {
        let lock = format!("{key}:fetch");
        let _ = self.call("token", &release_command(&lock, owner)).await;
    }

    /// The `cluster` object of `/readyz`.
    pub fn status_json(&self) -> Value {
        let st = self.state.lock();
        let since = st
            .since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        json!({
            "redis": if self.is_up() { "up" } else { "down" },
            "since_unix": since,
            "fallback": self.fallback.as_str(),
            "last_error": if self.is_up() { None } else { st.last_error.clone() },
        })
    }

    /// Starts the pinger thread (its own small runtime: it runs before and beside Pingora's).
    pub fn spawn_pinger(self: &Arc<Self>) -> std::io::Result<()> {
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("patchbay-cluster".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        log::error!("cluster pinger cannot start: {e}");
                        return;
                    }
                };
                rt.block_on(async move {
                    loop {
                        let probe = match me.ping_client.call(&[b"PING"]).await {
                            Ok(_) => me.release_orphans().await,
                            Err(e) => Err(e),
                        };
                        match probe {
                            Ok(()) => me.mark_up(),
                            Err(e) => {
                                me.ping_client.reset();
                                if me.is_up() {
                                    me.mark_down("ping", &e);
                                } else {
                                    me.state.lock().last_error = Some(e.to_string());
                                }
                            }
                        }
                        tokio::time::sleep(PING_EVERY).await;
                    }
                });
            })
            .map(|_| ())
    }
}

/// A held per-customer lease. A task renews it every third of its lifetime; dropping it stops
/// the renewal and releases it (compare-and-delete, so a lease that expired and was taken by
/// another replica is never deleted by its former owner).
pub struct Lease {
    cluster: Arc<Cluster>,
    key: String,
    token: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl Lease {
    fn start(cluster: Arc<Cluster>, key: String, token: String) -> Lease {
        let c = Arc::clone(&cluster);
        let (k, t) = (key.clone(), token.clone());
        let renewer = tokio::spawn(async move {
            let every = c.lease / 3;
            let ms = c.lease.as_millis().to_string();
            loop {
                tokio::time::sleep(every).await;
                let r = c
                    .call(
                        "renew",
                        &[
                            b"EVAL",
                            RENEW.as_bytes(),
                            b"1",
                            k.as_bytes(),
                            t.as_bytes(),
                            ms.as_bytes(),
                        ],
                    )
                    .await;
                match r.as_ref().map(Reply::as_int) {
                    Ok(Some(1)) => {}
                    Ok(_) => {
                        // Expired (Redis was away longer than the lease) and maybe taken: the
                        // write in flight is no longer exclusive. Say so; it cannot be undone.
                        metrics().cluster_lock("lost");
                        log::warn!("cluster: a per-customer lease expired during its write");
                        return;
                    }
                    // Counted by `call`; the next attempt may still be in time.
                    Err(_) => {}
                }
            }
        });
        Lease {
            cluster,
            key,
            token,
            renewer,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
        let (c, k, t) = (
            Arc::clone(&self.cluster),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.token),
        );
        // Released in the background: the answer to the client need not wait for it, and the
        // lease expires on its own if this never runs.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = c.call("release", &release_command(&k, &t)).await;
            });
        }
    }
}

//! Per-replica limits: the per-upstream rate limiter (SPEC §4, answered 429 before anything is
//! sent) and the per-customer write serialisation of read-modify-write updates (SPEC §3).
//! With `[cluster]`, [`lock_customer`] and [`take_rate`] extend both across replicas through
//! Redis ([`crate::cluster`]); the in-process parts stay the first step and the fallback.

use crate::canonical::{ApiError, ErrorKind};
use crate::cluster::LockError;
use crate::config::ClusterFallback;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

/// A token bucket per upstream: `per_minute` tokens, refilled continuously, burst = one minute's
/// worth. Keyed by upstream name and rate, so a reload that changes the rate starts a new bucket.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<(String, u32), Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// Takes one token; `Err(seconds_to_wait)` when the bucket is empty.
    pub fn take(&self, upstream: &str, per_minute: u32) -> Result<(), u64> {
        let now = Instant::now();
        let rate = f64::from(per_minute) / 60.0;
        let mut buckets = self.buckets.lock();
        let b = buckets
            .entry((upstream.to_string(), per_minute))
            .or_insert(Bucket {
                tokens: f64::from(per_minute),
                last: now,
            });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(f64::from(per_minute));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / rate).ceil();
            // `wait` is at most 60 s: one token at the slowest rate of one per minute.
            Err(wait as u64)
        }
    }
}

/// Number of lock stripes. Writes to different customers that hash to the same stripe are
/// serialised too (when one of them holds its stripe exclusively), which is harmless (they are
/// short) and keeps memory bounded without any clean-up of per-customer entries.
const STRIPES: usize = 1024;

/// How a write holds its customer's lock (SPEC §3: "updates to the same (upstream, customer id)
/// that need state are serialised").
///
/// A write built from the request alone (one upstream request, no state read) holds it
/// **shared**: it must not land between the read and the write of a read-modify-write (that
/// write would overwrite it), but two such writes have nothing to lose to each other: each
/// carries only its client's own fields, and their order at the upstream is that of two
/// concurrent clients either way. A read-modify-write holds it **exclusively**, and so does a
/// request translated into several upstream writes, so that another write cannot interleave
/// with its parts.
///
/// Before this (issue 11) every write held the lock exclusively: the load benchmark sends all
/// its PATCHes to one customer, so its 64 connections went upstream one request at a time,
/// and each request became a cross-core round trip gateway → stub → gateway with the gateway
/// and the stub going to sleep and being woken for every single request (`docs/benchmarks.md`,
/// "Where the kernel time went").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// One write from the request alone: excludes only the exclusive holders.
    Shared,
    /// Several upstream writes for one request: excludes every other write.
    Exclusive,
    /// A write that reads the state first: exclusive, and refused when a cluster's lease
    /// cannot be had (unless `fallback = "local"`).
    ReadModifyWrite,
}

impl Hold {
    fn exclusive(self) -> bool {
        self != Hold::Shared
    }
}

/// Striped async reader-writer locks keyed by (upstream, customer id); FIFO (tokio's
/// `RwLock` is fair), so a waiting exclusive holder is not starved by a stream of shared ones.
pub struct CustomerLocks {
    stripes: Vec<Arc<tokio::sync::RwLock<()>>>,
}

impl Default for CustomerLocks {
    fn default() -> Self {
        CustomerLocks {
            stripes: (0..STRIPES)
                .map(|_| Arc::new(tokio::sync::RwLock::new(())))
                .collect(),
        }
    }
}

/// The in-process part of a [`CustomerGuard`].
pub enum LocalGuard {
    /// Held alongside other shared holders.
    Shared(tokio::sync::OwnedRwLockReadGuard<()>),
    /// Held alone.
    Exclusive(tokio::sync::OwnedRwLockWriteGuard<()>),
}

impl CustomerLocks {
    /// Waits for and holds the lock of one customer of one upstream until the guard drops:
    /// alone when `exclusive`, else alongside other shared holders.
    pub async fn lock(&self, upstream: &str, customer: &str, exclusive: bool) -> LocalGuard {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        upstream.hash(&mut h);
        customer.hash(&mut h);
        let i = (h.finish() as usize) % STRIPES;
        let stripe = Arc::clone(&self.stripes[i]);
        if exclusive {
            LocalGuard::Exclusive(stripe.write_owned().await)
        } else {
            LocalGuard::Shared(stripe.read_owned().await)
        }
    }
}

/// Held for the whole write of one customer: the in-process lock and, with `[cluster]`, the
/// Redis lease (released when this drops).
pub struct CustomerGuard {
    _local: LocalGuard,
    _lease: Option<crate::cluster::Lease>,
}

/// Serialises a write to one customer of `upstream` as `hold` says: inside this replica
/// always, across replicas when a cluster is configured. With a cluster every write holds the
/// lock exclusively, as before: the Redis lease is exclusive (a plain write on another replica
/// must not land inside this replica's read-modify-write either), so a shared local hold would
/// gain nothing.
///
/// With a cluster, the whole wait (local lock, then lease) is bounded by the upstream's read
/// timeout, the route's deadline for one upstream step; a lock not had by then answers 503.
/// Without one, the local lock is waited for as before (a local holder always finishes within
/// its own upstream deadlines).
pub async fn lock_customer(
    locks: &CustomerLocks,
    cluster: Option<&Arc<crate::cluster::Cluster>>,
    upstream: &crate::config::Upstream,
    customer: &str,
    hold: Hold,
) -> Result<CustomerGuard, ApiError> {
    let Some(cluster) = cluster else {
        return Ok(CustomerGuard {
            _local: locks.lock(&upstream.name, customer, hold.exclusive()).await,
            _lease: None,
        });
    };
    // Boxed: the Redis lease is a large future that would otherwise size (and be copied with)
    // every request's future, clustered or not (issue 11).
    Box::pin(lock_shared(
        locks,
        cluster,
        upstream,
        customer,
        hold == Hold::ReadModifyWrite,
    ))
    .await
}

/// [`lock_customer`] with a cluster: the local lock (exclusive), then the Redis lease.
/// `needs_state`: the write is a read-modify-write, the kind that must not run unlocked while
/// Redis is unavailable (unless `fallback = "local"`).
async fn lock_shared(
    locks: &CustomerLocks,
    cluster: &Arc<crate::cluster::Cluster>,
    upstream: &crate::config::Upstream,
    customer: &str,
    needs_state: bool,
) -> Result<CustomerGuard, ApiError> {
    let wait = upstream.read_timeout;
    let started = Instant::now();
    let busy = || {
        ApiError::new(
            ErrorKind::Unavailable,
            "Another write to this customer is in progress; try again",
        )
    };
    let Ok(local) = tokio::time::timeout(wait, locks.lock(&upstream.name, customer, true)).await
    else {
        crate::metrics::metrics().cluster_lock("timeout");
        return Err(busy());
    };
    let left = wait.saturating_sub(started.elapsed());
    match cluster.lock(&upstream.name, customer, left).await {
        Ok(lease) => Ok(CustomerGuard {
            _local: local,
            _lease: Some(lease),
        }),
        Err(LockError::Timeout) => Err(busy()),
        Err(LockError::Unavailable(why)) => {
            if needs_state && cluster.fallback() == ClusterFallback::Refuse {
                crate::metrics::metrics().cluster_lock("refused");
                log::debug!("cluster lock refused: {why}");
                Err(ApiError::new(
                    ErrorKind::Unavailable,
                    "The shared lock this update needs is unavailable; try again",
                ))
            } else {
                crate::metrics::metrics().cluster_lock("local");
                Ok(CustomerGuard {
                    _local: local,
                    _lease: None,
                })
            }
        }
    }
}

/// Takes one token of an upstream's rate limit: across replicas with a cluster whose Redis
/// answers, in this process otherwise (Redis down: each replica enforces the whole limit, the
/// same as without `[cluster]`, rather than refusing every request).
pub async fn take_rate(
    limiter: &RateLimiter,
    cluster: Option<&Arc<crate::cluster::Cluster>>,
    upstream: &str,
    per_minute: u32,
) -> Result<(), u64> {
    if let Some(c) = cluster {
        // Boxed for the reason given in `lock_customer`.
        match Box::pin(c.rate_take(upstream, per_minute)).await {
            Ok(r) => return r,
            Err(_) => crate::metrics::metrics().cluster_fallback("rate_limit"),
        }
    }
    limiter.take(upstream, per_minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let rl = RateLimiter::default();
        for _ in 0..3 {
            assert!(rl.take("u", 3).is_ok());
        }
        let wait = rl
            .take("u", 3)
            .expect_err("fourth request within the minute");
        assert!((1..=20).contains(&wait), "wait {wait}");
        // Another upstream has its own bucket.
        assert!(rl.take("v", 3).is_ok());
    }

    /// Asserts that a hold of customer 42 (`exclusive` or shared) waits while `held` are held,
    /// and is had once they are dropped.
    async fn waits_for(locks: &Arc<CustomerLocks>, exclusive: bool, held: Vec<LocalGuard>) {
        let l2 = Arc::clone(locks);
        let waiter = tokio::spawn(async move {
            let _g = l2.lock("up", "42", exclusive).await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "exclusive {exclusive}: must wait");
        drop(held);
        tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .expect("released")
            .expect("task");
    }

    #[tokio::test]
    async fn same_customer_serialises() {
        let locks = Arc::new(CustomerLocks::default());
        let g = locks.lock("up", "42", true).await;
        waits_for(&locks, true, vec![g]).await;
    }

    /// Plain writes of one customer do not wait for each other; an exclusive holder waits for
    /// them and they wait for it.
    #[tokio::test]
    async fn shared_holders_exclude_only_exclusive_ones() {
        let locks = Arc::new(CustomerLocks::default());
        let a = locks.lock("up", "42", false).await;
        let b = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            locks.lock("up", "42", false),
        )
        .await
        .expect("a second shared hold does not wait");
        waits_for(&locks, true, vec![a, b]).await;
        let x = locks.lock("up", "42", true).await;
        waits_for(&locks, false, vec![x]).await;
    }
}

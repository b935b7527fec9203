//! Per-upstream bound on requests in flight (`[[upstream]] max_inflight`): a slow vendor must
//! not take every connection and task of the gateway with it. Beyond the bound the request is
//! answered 503 in the client's dialect before anything is sent, and counted in
//! `patchbay_upstream_inflight_refused_total{upstream}`; `patchbay_upstream_inflight{upstream}`
//! shows the current count.
//!
//! A slot is an [`InflightGuard`] held in the request's context for its whole life (translated
//! exchanges, the relay, the streamed answer), so every exit path — success, error, timeout,
//! client gone — gives it back when the context drops; there is no manual decrement to miss.
//! Counters are keyed by upstream name and outlive configuration reloads, so requests admitted
//! under the old snapshot still count against the new bound.

use crate::metrics::metrics;
use parking_lot::Mutex;
use prometheus::IntGauge;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

struct Slot {
    count: AtomicU32,
    gauge: IntGauge,
}

/// The in-flight counters of every upstream the gateway has sent to.
#[derive(Default)]
pub struct InflightLimits {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One request in flight toward an upstream; gives its slot back when dropped.
pub struct InflightGuard(Arc<Slot>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
        self.0.gauge.dec();
    }
}

impl InflightLimits {
    fn slot(&self, upstream: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock();
        if let Some(s) = slots.get(upstream) {
            return Arc::clone(s);
        }
        let s = Arc::new(Slot {
            count: AtomicU32::new(0),
            gauge: metrics().upstream_inflight_gauge(upstream),
        });
        slots.insert(upstream.to_string(), Arc::clone(&s));
        s
    }

    /// A slot toward `upstream`, or `None` (counted as refused) when `max` are in flight.
    /// Without a bound the request is only counted.
    pub fn acquire(&self, upstream: &str, max: Option<u32>) -> Option<InflightGuard> {
        let slot = self.slot(upstream);
        let taken = slot
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match max {
                Some(m) if n >= m => None,
                _ => Some(n.saturating_add(1)),
            });
        if taken.is_err() {
            metrics().upstream_inflight_refused(upstream);
            return None;
        }
        slot.gauge.inc();
        Some(InflightGuard(slot))
    }

    /// Requests in flight toward `upstream` now.
    pub fn current(&self, upstream: &str) -> u32 {
        self.slot(upstream).count.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::InflightLimits;

    #[test]
    fn the_bound_holds_and_slots_come_back_on_drop() {
        let limits = InflightLimits::default();
        let up = "inflight-unit-a";
        let a = limits.acquire(up, Some(2)).expect("first");
        let b = limits.acquire(up, Some(2)).expect("second");
        assert!(
            limits.acquire(up, Some(2)).is_none(),
            "third over the bound"
        );
        assert_eq!(limits.current(up), 2);
        drop(a);
        let c = limits.acquire(up, Some(2)).expect("a slot came back");
        drop((b, c));
        assert_eq!(limits.current(up), 0);
        // Unbounded upstreams are counted, never refused; upstreams do not share counters.
        let many: Vec<_> = (0..10)
            .map(|_| limits.acquire("inflight-unit-b", None).expect("unbounded"))
            .collect();
        assert_eq!(limits.current("inflight-unit-b"), 10);
        assert!(limits.acquire(up, Some(1)).is_some());
        drop(many);
        assert_eq!(limits.current("inflight-unit-b"), 0);
    }
}

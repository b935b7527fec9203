//! Giving memory back to the operating system (issue 11: 1,000 idle keep-alive connections in
//! ≤ 50 MiB, back near the idle figure once they close).
//!
//! mimalloc (the binary's global allocator) keeps the pages freed by closed connections for
//! reuse and returns ("purges") them only from inside a later allocator call, once they have
//! been free for its purge delay. A gateway that goes quiet after a burst makes no such call, so
//! before this the RSS of 1,000 closed connections stayed until the next burst
//! (`docs/benchmarks.md`, "Memory"). So [`trim_now`] runs once a second from a small thread of
//! its own and purges the pages whose delay has passed. Purging at once on every free
//! (`MIMALLOC_PURGE_DELAY=0`) was measured too: two `madvise` calls per request under load, so
//! the delay stays. (Transparent huge pages are off for mimalloc's arenas: the `no_thp` feature
//! in Cargo.toml.)
//!
//! A module of the binary, not of the library: the binary chooses the allocator, and the library
//! forbids `unsafe` (the FFI call below is the only `unsafe` in the binary).

use std::time::Duration;

/// How often the trimmer runs: purges only pages free for longer than mimalloc's purge delay.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// Returns pages freed long enough ago to the operating system.
#[allow(unsafe_code)]
pub fn trim_now() {
    // SAFETY: `mi_collect` takes no pointers; it walks mimalloc's own structures under its own
    // synchronisation and may be called from any thread.
    unsafe { libmimalloc_sys::mi_collect(false) }
}

/// Starts the trimmer thread (it lives as long as the process).
pub fn spawn_trimmer() {
    let spawned = std::thread::Builder::new()
        .name("patchbay-trim".into())
        .spawn(|| loop {
            std::thread::sleep(TRIM_EVERY);
            trim_now();
        });
    if let Err(e) = spawned {
        log::warn!("memory trimmer not started (freed memory is returned later): {e}");
    }
}

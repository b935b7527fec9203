//! The binary's global allocator: mimalloc, entered through its plain `malloc` family whenever
//! the alignment asked for is one every mimalloc block has anyway.
//!
//! The `mimalloc` crate's `MiMalloc` passes every allocation to `mi_malloc_aligned`, whose
//! alignment checks and separate fast path cost ~30 instructions more than `mi_malloc`'s; a
//! translated request makes ~130 allocations (callgrind, `docs/benchmarks.md`). Almost all of
//! them ask for an alignment of 1 to 8 bytes (bytes, strings, structs of words), which every
//! mimalloc block has (`MI_INTPTR_SIZE`: its smallest size class is one word); the rest keep the
//! aligned entry points.
//!
//! A file of the binary (and of the benches, which include it so that their figures are the
//! gateway's), not of the library: the library forbids `unsafe`.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};

/// The alignment of every mimalloc block, whatever its size.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc (see the module docs).
pub struct Mimalloc;

// SAFETY: each method passes the layout's size, and its alignment when that is larger than
// `WORD`, to the mimalloc function of the same purpose; a block from `mi_malloc`/`mi_zalloc`/
// `mi_realloc` is aligned to at least `WORD`, so every layout gets an alignment it asked for.
// `dealloc` and `realloc` receive only pointers this allocator returned (GlobalAlloc's
// contract), and `mi_free`/`mi_realloc*` accept any mimalloc block, aligned or not.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_malloc(layout.size()).cast()
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_zalloc(layout.size()).cast()
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr.cast());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            mi::mi_realloc(ptr.cast(), new_size).cast()
        } else {
            mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
        }
    }
}

#[cfg(test)]
mod tests {
    // Unused where this file is part of a bench built without the test harness.
    #[allow(unused_imports)]
    use super::*;

    /// Every layout gets its alignment, through both entry points, and keeps it (and its bytes)
    /// when it grows.
    #[test]
    #[allow(unsafe_code)]
    fn every_layout_gets_its_alignment() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 7, 8, 12, 16, 24, 40, 100, 1000, 5000, 70_000] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: the layout has a non-zero size; each block is written within its size,
                // grown with the same alignment, and freed once, by this allocator.
                unsafe {
                    let p = Mimalloc.alloc(layout);
                    assert!(!p.is_null() && p as usize % align == 0, "{size}/{align}");
                    p.write_bytes(0xab, size);
                    let z = Mimalloc.alloc_zeroed(layout);
                    assert!(
                        !z.is_null() && z as usize % align == 0,
                        "zeroed {size}/{align}"
                    );
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    Mimalloc.dealloc(z, layout);
                    let q = Mimalloc.realloc(p, layout, size * 3);
                    assert!(
                        !q.is_null() && q as usize % align == 0,
                        "grown {size}/{align}"
                    );
                    assert!((0..size).all(|i| *q.add(i) == 0xab));
                    let grown = Layout::from_size_align(size * 3, align).expect("layout");
                    Mimalloc.dealloc(q, grown);
                }
            }
        }
    }
}

//! The `no_std` runtime of a test plugin: a small size-class allocator over `memory.grow`, and a
//! panic handler that traps. Together they replace std, whose panic and formatting machinery
//! would be most of a test plugin's size. Compiled for wasm32 only.
//!
//! Every block is a power of two of at least 16 bytes, aligned to its size (up to one 64 KiB
//! page). Freed blocks go on a free list per size and are reused by the next request of that
//! size; new blocks are cut from the top of linear memory, which grows a page at a time. When
//! `memory.grow` fails the allocation returns null and the allocation error handler panics, which
//! traps (this is how `grow-memory` ends when it hits the host's memory cap).

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::{memory_grow, memory_size, unreachable};
use core::cell::Cell;
use core::ptr::null_mut;

/// Size of a WebAssembly page.
const PAGE: usize = 64 * 1024;

/// Number of size classes: class `k` holds blocks of `1 << k` bytes (k from 4).
const CLASSES: usize = usize::BITS as usize;

/// The allocator's state: the unused top of memory and one free list per size class.
struct Heap {
    /// Start of the never-used region; 0 until the first allocation.
    next: Cell<usize>,
    /// End of linear memory as this allocator last grew it.
    end: Cell<usize>,
    /// Head of each class's free list (0 when empty); each free block stores the next one's
    /// address in its first word.
    free: [Cell<usize>; CLASSES],
}

// SAFETY: a component instance is single-threaded (wasm32-unknown-unknown without the threads
// proposal), so the cells are never touched by two threads.
unsafe impl Sync for Heap {}

#[global_allocator]
static HEAP: Heap = Heap {
    next: Cell::new(0),
    end: Cell::new(0),
    free: [const { Cell::new(0) }; CLASSES],
};

/// The size class of a layout: the power of two that fits both its size and its alignment.
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(16);
    let k = size.checked_next_power_of_two()?.trailing_zeros() as usize;
    (k < CLASSES).then_some(k)
}

impl Heap {
    /// Cuts a new block of `size` bytes (a power of two) from the top of memory, growing it.
    fn carve(&self, size: usize) -> *mut u8 {
        if self.next.get() == 0 {
            // Everything below the initial memory size (data, stack) belongs to the program.
            let base = memory_size(0) * PAGE;
            self.next.set(base);
            self.end.set(base);
        }
        let align = size.min(PAGE);
        let Some(start) = self
            .next
            .get()
            .checked_add(align - 1)
            .map(|n| n & !(align - 1))
        else {
            return null_mut();
        };
        let Some(end) = start.checked_add(size) else {
            return null_mut();
        };
        if end > self.end.get() {
            let pages = (end - self.end.get()).div_ceil(PAGE);
            if memory_grow(0, pages) == usize::MAX {
                return null_mut();
            }
            self.end.set(self.end.get() + pages * PAGE);
        }
        self.next.set(end);
        start as *mut u8
    }
}

// SAFETY: blocks never overlap: each is either cut once from the never-used region or taken off
// a free list it was put on by `dealloc` (which callers only do for live blocks they own), and a
// block of class k is 1 << k bytes aligned to min(1 << k, PAGE) >= the layout's size and align.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(k) = class(layout) else {
            return null_mut();
        };
        let head = self.free[k].get();
        if head != 0 {
            // SAFETY: a free block of class k >= 4 holds the next free block's address.
            self.free[k].set(unsafe { *(head as *const usize) });
            return head as *mut u8;
        }
        self.carve(1 << k)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(k) = class(layout) {
            // SAFETY: `ptr` is a live block of class k (at least 16 bytes, word-aligned), now
            // owned by the allocator again.
            unsafe { *(ptr as *mut usize) = self.free[k].get() };
            self.free[k].set(ptr as usize);
        }
    }
}

/// Any panic (including an allocation failure) traps the instance.
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    unreachable()
}

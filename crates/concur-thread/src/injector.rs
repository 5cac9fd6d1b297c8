//! The pool's FIFO queue: crossbeam-deque's `Injector` (MIT OR Apache-2.0,
//! <https://github.com/crossbeam-rs/crossbeam>, version 0.8.8), reduced to
//! `push`/`pop`/`is_empty`, with one change: a block the readers are done
//! with goes to a list of spare blocks instead of back to the allocator,
//! and `push` takes its next block from that list.
//!
//! Why: the injector allocates a 3 KB block every 63 pushes on the
//! submitting thread and frees it on the worker that reads its last slot.
//! With glibc, that cross-thread free takes the arena lock that the
//! submitting thread holds for each of its own allocations (every future's
//! state), so a burst of small tasks paid futex waits and wake-ups inside
//! malloc, plus a `malloc_consolidate` per block. With the spare list a
//! steady stream of tasks allocates no blocks at all.
//!
//! # Safety argument
//!
//! The algorithm is crossbeam's, unchanged: slots are claimed by moving
//! the tail (push) or head (pop) index with a CAS; a reader that takes a
//! block's last slot, or finds `DESTROY` set on its slot, runs `destroy`,
//! which completes only once every slot of the block has been read, and
//! the thread that completes it is the last one to touch the block (that
//! is what makes crossbeam's `free` there sound). Handing the block to the
//! spare list at that point is therefore as sound as freeing it: no thread
//! holds a reference it will dereference. A block is reset (`next` null,
//! every slot state 0) before it is listed; the list's mutex orders those
//! writes before the block's reuse. Stale block pointers that a pusher or
//! popper loaded are never dereferenced unless its index CAS succeeded,
//! and indices only grow, so reuse of a block's memory cannot confuse them
//! (the same holds for memory the allocator hands out again).

use concur_sync::backoff::SpinWait;
use concur_sync::cell::UnsafeCell;
use concur_sync::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};
use concur_sync::sync::{Mutex, MutexGuard};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

#[cfg(all(test, concur_loom))]
mod loom_tests;

/// A slot's task storage.
struct TaskCell<T>(UnsafeCell<MaybeUninit<T>>);

impl<T> TaskCell<T> {
    fn new() -> Self {
        Self(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// Writes the task.
    ///
    /// # Safety
    ///
    /// The caller claimed the slot for writing and it holds no task.
    unsafe fn write(&self, task: T) {
        // SAFETY: per the caller's claim, nobody else accesses the cell.
        self.0
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(task)) });
    }

    /// Moves the task out.
    ///
    /// # Safety
    ///
    /// The caller claimed the slot for reading and it holds a task, which
    /// is never read again.
    unsafe fn read(&self) -> T {
        // SAFETY: per the caller's claim, the task is initialised and ours
        // alone (a move out: `with_mut`, so loom checks it as a write).
        self.0.with_mut(|p| unsafe { p.read().assume_init() })
    }
}

// Bits of a slot's state: a task was written / read / the block is being
// destroyed.
const WRITE: usize = 1;
const READ: usize = 2;
const DESTROY: usize = 4;

/// Each block covers one "lap" of indices: 64, or 3 under loom, so that
/// models cross block boundaries (and reuse blocks) within a few pushes.
const LAP: usize = if cfg!(concur_loom) { 3 } else { 64 };
// The maximum number of values a block can hold.
const BLOCK_CAP: usize = LAP - 1;
// How many lower bits of an index are reserved for metadata.
const SHIFT: usize = 1;
// Set in the head index when the head block is not the last one.
const HAS_NEXT: usize = 1;

/// At most this many spare blocks are kept (~3 MB); past it, blocks are
/// freed as before. Enough for a backlog of 64k tasks to drain and refill
/// without the allocator. One under loom, so models reach both reuse and
/// freeing.
const MAX_SPARE: usize = if cfg!(concur_loom) { 1 } else { 1024 };

/// One slot of a block: a task and its `WRITE`/`READ`/`DESTROY` state.
struct BlockSlot<T> {
    task: TaskCell<T>,
    state: AtomicUsize,
}

impl<T> BlockSlot<T> {
    /// Waits until a task is written into the slot.
    fn wait_write(&self) {
        let backoff = SpinWait::new();
        // ORDERING: pairs with the pusher's `Release` `fetch_or(WRITE)`: the
        // task written before it is visible once `WRITE` is.
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [BlockSlot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    /// A fresh, empty block.
    fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(std::ptr::null_mut()),
            slots: std::array::from_fn(|_| BlockSlot {
                task: TaskCell::new(),
                state: AtomicUsize::new(0),
            }),
        })
    }

    /// Makes a block whose slots were all read reusable.
    fn reset(&mut self) {
        // ORDERING: `&mut self`, so no other thread touches the block; the
        // spare list's mutex publishes these stores to the block's next
        // user.
        self.next.store(std::ptr::null_mut(), Ordering::Relaxed);
        for slot in &self.slots {
            // ORDERING: as above.
            slot.state.store(0, Ordering::Relaxed);
        }
    }

    /// Waits until the next pointer is set.
    fn wait_next(&self) -> *mut Self {
        let backoff = SpinWait::new();
        loop {
            // ORDERING: pairs with the `Release` store of `next` in `push`:
            // the next block's initialisation (or reset) is visible.
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }
}

struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// An unbounded MPMC FIFO queue (see the module docs).
pub(crate) struct Injector<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// Blocks every slot of which was read, ready for reuse.
    spare: Mutex<Vec<Box<Block<T>>>>,
    _marker: PhantomData<T>,
}

// SAFETY: tasks move between threads (so `T: Send`); every shared access
// goes through the slot protocol above, as in crossbeam's `Injector`.
unsafe impl<T: Send> Send for Injector<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Injector<T> {}

impl<T> Injector<T> {
    /// An empty queue (one block).
    pub(crate) fn new() -> Self {
        let block = Box::into_raw(Block::<T>::new());
        Self {
            head: CachePadded::new(Position {
                block: AtomicPtr::new(block),
                index: AtomicUsize::new(0),
            }),
            tail: CachePadded::new(Position {
                block: AtomicPtr::new(block),
                index: AtomicUsize::new(0),
            }),
            spare: Mutex::new(Vec::new()),
            _marker: PhantomData,
        }
    }

    /// The spare list, ignoring poisoning (nothing panics while holding it).
    fn spare(&self) -> MutexGuard<'_, Vec<Box<Block<T>>>> {
        self.spare.lock()
    }

    /// A block for the tail: a spare one if any, else a new one.
    fn take_block(&self) -> Box<Block<T>> {
        self.spare().pop().unwrap_or_else(Block::new)
    }

    /// Lists a block that no thread references any more as spare (or
    /// frees it when the list is full).
    fn give_block(&self, mut block: Box<Block<T>>) {
        block.reset();
        let mut spare = self.spare();
        if spare.len() < MAX_SPARE {
            spare.push(block);
        }
    }

    /// Appends `task`.
    pub(crate) fn push(&self, task: T) {
        let backoff = SpinWait::new();
        // ORDERING (all tail loads and the CAS failure below): `Acquire`
        // pairs with the `Release` stores that install a new tail block, so
        // a block seen through `tail` is initialised.
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block = None;

        loop {
            let offset = (tail >> SHIFT) % LAP;

            // At the end of the block: wait until the next one is installed.
            if offset == BLOCK_CAP {
                backoff.snooze();
                // ORDERING: as for the first loads of `tail`.
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }

            // The next block is taken in advance, so installing it is quick.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(self.take_block());
            }

            let new_tail = tail + (1 << SHIFT);
            // ORDERING: `SeqCst` success as in crossbeam (poppers' fence);
            // `Acquire` failure as for the loads of `tail`.
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: the CAS claimed slot `offset` of `block` for
                    // us alone; `block` is live until every one of its
                    // slots was read, and ours is not written yet.
                    unsafe {
                        if offset + 1 == BLOCK_CAP {
                            let next_block = Box::into_raw(next_block.take().expect("taken above"));
                            let next_index = new_tail.wrapping_add(1 << SHIFT);
                            // ORDERING: `Release` publishes the new block
                            // (fresh, or reset under the spare list's lock)
                            // to loaders of `tail.block` and `next`.
                            self.tail.block.store(next_block, Ordering::Release);
                            self.tail.index.store(next_index, Ordering::Release);
                            (*block).next.store(next_block, Ordering::Release);
                        }
                        let slot = (*block).slots.get_unchecked(offset);
                        slot.task.write(task);
                        // ORDERING: `Release` publishes the task (pairs with
                        // `wait_write`).
                        slot.state.fetch_or(WRITE, Ordering::Release);
                    }
                    if let Some(unused) = next_block {
                        self.give_block(unused);
                    }
                    return;
                }
                Err(t) => {
                    tail = t;
                    // ORDERING: as for the loads above.
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Takes the oldest task, if any.
    pub(crate) fn pop(&self) -> Option<T> {
        loop {
            match self.try_pop() {
                Ok(task) => return task,
                Err(()) => SpinWait::new().spin(),
            }
        }
    }

    /// One attempt: `Ok(None)` if empty, `Err(())` on a lost race (retry).
    fn try_pop(&self) -> Result<Option<T>, ()> {
        let mut head;
        let mut block;
        let mut offset;

        let backoff = SpinWait::new();
        loop {
            // ORDERING (these loads and the CAS failure below): `Acquire`
            // pairs with the `Release` stores that move the head to the
            // next block, so a block seen through `head` is the live one.
            head = self.head.index.load(Ordering::Acquire);
            block = self.head.block.load(Ordering::Acquire);
            offset = (head >> SHIFT) % LAP;
            // At the end of the block: wait until the next one is installed.
            if offset == BLOCK_CAP {
                backoff.snooze();
            } else {
                break;
            }
        }

        let mut new_head = head + (1 << SHIFT);

        if new_head & HAS_NEXT == 0 {
            fence(Ordering::SeqCst);
            // ORDERING: the SeqCst fence above orders it (as in crossbeam).
            let tail = self.tail.index.load(Ordering::Relaxed);
            // Head equals tail: empty.
            if head >> SHIFT == tail >> SHIFT {
                return Ok(None);
            }
            // Head and tail in different blocks: set `HAS_NEXT` in head.
            if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                new_head |= HAS_NEXT;
            }
        }

        // ORDERING: `SeqCst` success as in crossbeam (pairs with the fence
        // above); failure as for the loads above.
        if self
            .head
            .index
            .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Acquire)
            .is_err()
        {
            return Err(());
        }

        // SAFETY: the CAS claimed slot `offset` of `block` for us alone;
        // `block` stays live until we mark the slot read (or run `destroy`).
        unsafe {
            // At the end of the block: move the head to the next one.
            if offset + 1 == BLOCK_CAP {
                let next = (*block).wait_next();
                let mut next_index = (new_head & !HAS_NEXT).wrapping_add(1 << SHIFT);
                // ORDERING: a hint only, as in crossbeam (re-checked later).
                if !(*next).next.load(Ordering::Relaxed).is_null() {
                    next_index |= HAS_NEXT;
                }
                // ORDERING: `Release` pairs with the `Acquire` head loads.
                self.head.block.store(next, Ordering::Release);
                self.head.index.store(next_index, Ordering::Release);
            }

            let slot = (*block).slots.get_unchecked(offset);
            slot.wait_write();
            let task = slot.task.read();

            // Destroy the block if this was its last slot, or if another
            // thread wanted to but had to leave it to us (we were reading).
            // ORDERING: `AcqRel`: our read of the task happens before a
            // destroyer that sees `READ` reuses the block; `Acquire` sees a
            // `DESTROY` set before.
            if (offset + 1 == BLOCK_CAP)
                || (slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0)
            {
                self.destroy(block, offset);
            }
            Ok(Some(task))
        }
    }

    /// Sets `DESTROY` in slots `count-1 ..= 0` and recycles the block once
    /// none is being read any more.
    ///
    /// # Safety
    ///
    /// As crossbeam's `Block::destroy`: called once per block by the
    /// reader of its last slot, or by a reader that found `DESTROY` set.
    unsafe fn destroy(&self, this: *mut Block<T>, count: usize) {
        // The last slot needs no mark: its reader started the destruction.
        for i in (0..count).rev() {
            // SAFETY: the block is live until this function completes.
            let slot = unsafe { (*this).slots.get_unchecked(i) };
            // A thread still reading slot `i` continues the destruction.
            // ORDERING: `Acquire`/`AcqRel` pair with the readers' `AcqRel`
            // `fetch_or(READ)`: their reads happen before the block's reuse.
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                return;
            }
        }
        // SAFETY: no thread uses the block any more (see the module docs);
        // it came from `Box::into_raw`.
        self.give_block(unsafe { Box::from_raw(this) });
    }

    /// Whether the queue is empty (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// How many tasks are queued (a snapshot; crossbeam's `Injector::len`,
    /// with `%` for loom's block size, which is not a power of two). For
    /// statistics only: nothing on the submit or pop path calls it.
    pub(crate) fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.index.load(Ordering::SeqCst);
            let mut head = self.head.index.load(Ordering::SeqCst);
            // The tail did not move while the head was read: a consistent pair.
            if self.tail.index.load(Ordering::SeqCst) == tail {
                // Drop the flag bits below `SHIFT`.
                tail &= !((1 << SHIFT) - 1);
                head &= !((1 << SHIFT) - 1);
                // An index on a block's end sentinel is the next block's first.
                if (tail >> SHIFT) % LAP == LAP - 1 {
                    tail = tail.wrapping_add(1 << SHIFT);
                }
                if (head >> SHIFT) % LAP == LAP - 1 {
                    head = head.wrapping_add(1 << SHIFT);
                }
                // Rebase both on the head's block, then discount one
                // sentinel per block boundary in between.
                let lap = (head >> SHIFT) / LAP;
                tail = tail.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
                head = head.wrapping_sub((lap * LAP) << SHIFT) >> SHIFT;
                return tail.saturating_sub(head).saturating_sub(tail / LAP);
            }
        }
    }
}

impl<T> Default for Injector<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for Injector<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injector")
            .field("empty", &self.is_empty())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for Injector<T> {
    fn drop(&mut self) {
        // ORDERING (these loads and the `next` load below): `&mut self`,
        // so every store to them happened before.
        let mut head = self.head.index.load(Ordering::Relaxed);
        let mut tail = self.tail.index.load(Ordering::Relaxed);
        let mut block = self.head.block.load(Ordering::Relaxed);

        // Erase the lower bits.
        head &= !((1 << SHIFT) - 1);
        tail &= !((1 << SHIFT) - 1);

        // SAFETY: `&mut self`: no other thread uses the queue; slots between
        // head and tail hold written, unread tasks; blocks came from
        // `Box::into_raw`.
        unsafe {
            while head != tail {
                let offset = (head >> SHIFT) % LAP;
                if offset < BLOCK_CAP {
                    let slot = (*block).slots.get_unchecked(offset);
                    drop(slot.task.read());
                } else {
                    let next = (*block).next.load(Ordering::Relaxed);
                    drop(Box::from_raw(block));
                    block = next;
                }
                head = head.wrapping_add(1 << SHIFT);
            }
            drop(Box::from_raw(block));
        }
    }
}

#[cfg(all(test, not(concur_loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_across_many_blocks_and_reuses_them() {
        let q = Injector::new();
        for round in 0..3u32 {
            for i in 0..1000 {
                q.push(round * 1000 + i);
            }
            for i in 0..1000 {
                assert_eq!(q.pop(), Some(round * 1000 + i));
            }
            assert!(q.is_empty());
            assert_eq!(q.pop(), None);
        }
        // 1000 items span 16 blocks; after the first round they were reused.
        let spare = q.spare().len();
        assert!((10..=20).contains(&spare), "{spare} spare blocks");
    }

    #[test]
    fn len_counts_queued_tasks_across_blocks() {
        let q = Injector::new();
        assert_eq!(q.len(), 0);
        for i in 0..(3 * LAP + 5) {
            assert_eq!(q.len(), i);
            q.push(i);
        }
        for i in (0..(3 * LAP + 5)).rev() {
            assert!(q.pop().is_some());
            assert_eq!(q.len(), i);
        }
        assert!(q.is_empty());
    }

    #[test]
    fn drop_drops_queued_tasks_once() {
        let token = Arc::new(());
        {
            let q = Injector::new();
            for _ in 0..200 {
                q.push(Arc::clone(&token));
            }
            for _ in 0..70 {
                drop(q.pop());
            }
            assert_eq!(Arc::strong_count(&token), 131);
        }
        assert_eq!(Arc::strong_count(&token), 1);
    }

    /// Producers and consumers racing over many block boundaries: every
    /// task comes out exactly once, and each producer's tasks come out in
    /// the order it pushed them to every consumer.
    #[test]
    fn concurrent_producers_and_consumers() {
        use std::sync::atomic::AtomicBool;
        const PER: u64 = 200_000;
        let q = Arc::new(Injector::new());
        let done = Arc::new(AtomicBool::new(false));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = Arc::clone(&q);
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut last = [None::<u64>; 2];
                    let mut got = 0u64;
                    loop {
                        match q.pop() {
                            Some((p, i)) => {
                                let p = usize::try_from(p).unwrap();
                                assert!(last[p].is_none_or(|l| l < i), "out of order");
                                last[p] = Some(i);
                                got += 1;
                            }
                            None if done.load(Ordering::SeqCst) && q.is_empty() => return got,
                            None => std::hint::spin_loop(),
                        }
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let q = Arc::clone(&q);
                std::thread::spawn(move || {
                    for i in 0..PER {
                        q.push((p, i));
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let got: Vec<u64> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        assert_eq!(got.iter().sum::<u64>(), 2 * PER);
        assert!(q.pop().is_none());
        // Both consumers took part (the queue was shared, not drained by one).
        assert!(got.iter().all(|&g| g > 0), "{got:?}");
    }
}

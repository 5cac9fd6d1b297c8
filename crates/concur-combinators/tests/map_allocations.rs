//! Allocations per in-process `map` chunk, counted on the consumer's thread
//! with an executor that runs each job where it is submitted: the chunk's
//! buffer and its future, nothing per item and no boxed job.

use concur_combinators::ExecutorExt;
use concur_core::{Executor, Job, SubmitError};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls made while
// this thread's `COUNTING` is on.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs every job at once, on the submitting thread.
struct Inline;

impl Executor for Inline {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        job.run();
        Ok(())
    }
    fn shutdown(&self, _wait: bool, _cancel_futures: bool) {}
}

fn allocations_of(f: impl FnOnce()) -> usize {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get)
}

#[test]
fn a_chunk_costs_its_buffer_and_its_future() {
    const CHUNKS: usize = 100;
    const CHUNKSIZE: usize = 64;
    let mut sum = 0u64;
    let n = allocations_of(|| {
        let it = Inline
            .map(|x: u64| x * 2, 0..(CHUNKS * CHUNKSIZE) as u64)
            .chunksize(CHUNKSIZE)
            .buffersize(4)
            .run()
            .unwrap();
        for r in it {
            sum += r.unwrap();
        }
    });
    let items = (CHUNKS * CHUNKSIZE) as u64;
    assert_eq!(sum, items * (items - 1));
    // 2 per chunk, plus a few for the iterator itself (its queue, the
    // shared function).
    assert!(n <= 2 * CHUNKS + 8, "{n} allocations for {CHUNKS} chunks");
    assert!(n >= 2 * CHUNKS, "{n} allocations for {CHUNKS} chunks");
}

/// Outputs laid out unlike the inputs need one more buffer per chunk.
#[test]
fn a_chunk_with_other_outputs_costs_one_buffer_more() {
    const CHUNKS: usize = 50;
    let n = allocations_of(|| {
        let total: u32 = Inline
            .map(|x: u64| x as u32, 0..(CHUNKS * 10) as u64)
            .chunksize(10)
            .buffersize(2)
            .run()
            .unwrap()
            .map(Result::unwrap)
            .sum();
        assert_eq!(total, (0..(CHUNKS * 10) as u32).sum());
    });
    assert!(n <= 3 * CHUNKS + 8, "{n} allocations for {CHUNKS} chunks");
}

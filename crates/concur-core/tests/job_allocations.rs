//! A job is its closure (or arguments) and its promise: a capture of up to
//! three words is stored inline, so submitting it allocates only the
//! future's shared state; a larger one costs one box more.

use concur_core::{BoxError, Job, RemoteFn, TaskExecutor};
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

/// Allocations made by `f` on this thread.
fn allocations_of<T>(f: impl FnOnce() -> T) -> (usize, T) {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (ALLOCS.with(Cell::get), out)
}

#[test]
fn three_word_closures_are_inline_four_word_ones_boxed() {
    let three = [1usize, 2, 3];
    let (n, (job, fut)) = allocations_of(|| Job::new(move || three.iter().sum::<usize>()));
    assert_eq!(n, 1, "the future only");
    job.run();
    assert_eq!(*fut.result().unwrap(), 6);

    let four = [1usize, 2, 3, 4];
    let (n, (job, fut)) = allocations_of(|| Job::new(move || four.iter().sum::<usize>()));
    assert_eq!(n, 2, "the future and the box");
    job.run();
    assert_eq!(*fut.result().unwrap(), 10);

    let three = (1u64, 2u64, 3u64);
    let (n, (job, fut)) = allocations_of(|| {
        Job::new_fallible(move || {
            if three.0 == 1 {
                Ok(three.1 + three.2)
            } else {
                Err(std::fmt::Error)
            }
        })
    });
    assert_eq!(n, 1, "the future only");
    job.run();
    assert_eq!(*fut.result().unwrap(), 5);
}

#[derive(Clone, Copy)]
struct Sum3;
impl RemoteFn for Sum3 {
    type Args = (u64, u64, u64);
    type Output = u64;
    const NAME: &'static str = "job_allocations::sum3";
    const FINGERPRINT: u64 = 3;
    fn call((a, b, c): (u64, u64, u64)) -> Result<u64, BoxError> {
        Ok(a + b + c)
    }
}

/// Runs each job at once on the submitting thread.
struct Inline;

impl concur_core::Executor for Inline {
    fn execute(&self, job: Job) -> Result<(), concur_core::SubmitError<Job>> {
        job.run();
        Ok(())
    }
    fn shutdown(&self, _wait: bool, _cancel_futures: bool) {}
}

#[test]
fn remote_arguments_of_three_words_are_inline() {
    let (n, fut) = allocations_of(|| Inline.submit_task(Sum3, (1, 2, 3)).unwrap());
    assert_eq!(n, 1, "the future only");
    assert_eq!(*fut.result().unwrap(), 6);
}

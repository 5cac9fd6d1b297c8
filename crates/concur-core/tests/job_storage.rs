//! `Job` stores small jobs inline and larger or over-aligned ones in a box:
//! both kinds run, cancel, fail, give their closure back on refusal, and
//! drop their captures exactly once (failing the future as abandoned when
//! dropped unrun).

use concur_core::{Error, ErrorKind, Executor, Job, SubmitError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[repr(align(64))]
struct OverAligned(u64);

/// Refuses every job, giving it back.
struct Refuser;

impl Executor for Refuser {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        Err(SubmitError::new(job, Error::shutdown()))
    }
}
impl concur_core::Shutdown for Refuser {
    fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
    fn is_shutdown(&self) -> bool {
        false
    }
}

#[test]
fn small_large_and_over_aligned_jobs_run() {
    let (job, fut) = Job::new(|| 7u8);
    job.run();
    assert_eq!(*fut.result().unwrap(), 7);

    let big = [3u64; 32];
    let (job, fut) = Job::new(move || big.iter().sum::<u64>());
    std::thread::spawn(move || job.run()).join().unwrap();
    assert_eq!(*fut.result().unwrap(), 96);

    let aligned = OverAligned(5);
    let (job, fut) = Job::new(move || {
        assert_eq!(std::ptr::from_ref(&aligned).align_offset(64), 0);
        aligned.0
    });
    job.run();
    assert_eq!(*fut.result().unwrap(), 5);
}

#[test]
fn captures_are_dropped_once_whichever_way_the_job_ends() {
    let drops = Arc::new(AtomicUsize::new(0));
    type Ends = fn(Job);
    let ends: [Ends; 4] = [Job::run, Job::cancel, |j| j.fail(Error::shutdown()), drop];
    for (i, end) in ends.into_iter().enumerate() {
        // Small (inline) and large (boxed) captures.
        let small = DropCount(drops.clone());
        let (job, small_fut) = Job::new(move || drop(small));
        end(job);
        let large = (DropCount(drops.clone()), [0u8; 256]);
        let (job, large_fut) = Job::new(move || drop(large));
        end(job);
        assert_eq!(drops.load(Ordering::SeqCst), 2 * (i + 1), "end #{i}");
        for fut in [small_fut, large_fut] {
            let expected = match i {
                0 => None,
                1 => Some(ErrorKind::Cancelled),
                2 => Some(ErrorKind::Shutdown),
                _ => Some(ErrorKind::Abandoned),
            };
            assert_eq!(fut.result().err().map(|e| e.kind()), expected, "end #{i}");
        }
    }
}

#[test]
fn refused_closures_come_back_inline_or_boxed() {
    let small = 11u32;
    let back = Refuser.submit(move || small).unwrap_err().into_task();
    assert_eq!(back(), 11);

    let large = [9u64; 16];
    let back = Refuser.submit(move || large[15]).unwrap_err().into_task();
    assert_eq!(back(), 9);

    let fallible = Refuser
        .submit_fallible(move || "4".parse::<u8>())
        .unwrap_err()
        .into_task();
    assert_eq!(fallible().unwrap(), 4);
}

#[test]
fn scoped_jobs_borrow_inline_or_boxed() {
    let data: Vec<i32> = (1..=3).collect();
    let big = [1u64; 64];
    // SAFETY: both jobs run before `data` and `big` go out of scope.
    let (small_job, small_fut) = unsafe { Job::new_scoped(|| data.iter().sum::<i32>()) };
    // SAFETY: as above.
    let (big_job, big_fut) =
        unsafe { Job::new_scoped(|| big.iter().sum::<u64>() + data[0] as u64) };
    big_job.run();
    small_job.run();
    assert_eq!(*small_fut.result().unwrap(), 6);
    assert_eq!(*big_fut.result().unwrap(), 65);
}

//! Ports of the `map` cases of CPython's `executor.py` tests, for closures
//! (`ExecutorExt`) and named remote functions (`TaskExecutorExt`).

use concur_combinators::{ExecutorExt, MapError, TaskExecutorExt};
use concur_core::Shutdown;
use concur_core::{BoxError, ErrorKind, Executor, Job, RemoteFn, SubmitError};
use concur_testkit::{Event, Inverse, Square, TestPool, Tracked};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn map_keeps_input_order_for_every_chunksize() {
    let pool = TestPool::new(3);
    let expected: Vec<i64> = (0..50).map(|x| x * x).collect();
    for cs in [1, 2, 3, 7, 49, 50, 1000] {
        let got: Vec<i64> = pool
            .map(|x: i64| x * x, 0..50)
            .chunksize(cs)
            .run()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, expected, "closure, chunksize {cs}");
        let got: Vec<i64> = pool
            .map_task(Square, 0..50)
            .chunksize(cs)
            .run()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, expected, "remote, chunksize {cs}");
    }
}

#[test]
fn map_exception_fails_that_item_only() {
    let pool = TestPool::new(2);
    for cs in [1, 3] {
        let out: Vec<_> = pool
            .map(|x: i64| 100 / x, [5, 0, 2, 0, 10])
            .chunksize(cs)
            .run()
            .unwrap()
            .collect();
        assert_eq!(*out[0].as_ref().unwrap(), 20);
        assert_eq!(out[1].as_ref().unwrap_err().kind(), ErrorKind::Panicked);
        assert_eq!(*out[2].as_ref().unwrap(), 50);
        assert!(out[3].is_err());
        assert_eq!(*out[4].as_ref().unwrap(), 10);

        let out: Vec<_> = pool
            .map_task(Inverse, [5, 0, 2])
            .chunksize(cs)
            .run()
            .unwrap()
            .collect();
        assert_eq!(*out[0].as_ref().unwrap(), 20);
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Task);
        assert_eq!(e.to_string(), "task failed: division by zero");
        assert_eq!(*out[2].as_ref().unwrap(), 50);
    }
}

#[test]
fn map_timeout() {
    let pool = TestPool::new(1);
    let ev = Event::new();
    let e = ev.clone();
    let mut results = Vec::new();
    let mut timed_out = None;
    let it = pool
        .map(
            move |x: u32| {
                if x == 6 {
                    e.wait();
                }
                x
            },
            [0, 0, 6],
        )
        .timeout(Duration::from_millis(200))
        .run()
        .unwrap();
    for r in it {
        match r {
            Ok(v) => results.push(v),
            Err(err) => timed_out = Some(err),
        }
    }
    assert_eq!(results, [0, 0]);
    let err = timed_out.expect("timed out");
    assert!(err.is_timeout());
    assert_eq!(err.message(), "1 (of 3) map results unfinished");
    ev.set();
}

/// Runs each job on the submitting thread, so every result is done before
/// it is asked for.
struct Inline;
impl Executor for Inline {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        job.run();
        Ok(())
    }
}
impl concur_core::Shutdown for Inline {
    fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
    fn is_shutdown(&self) -> bool {
        false
    }
}

#[test]
fn map_timeout_zero_yields_what_is_done_and_max_is_no_limit() {
    // ZERO: results done when asked for are yielded, as without a timeout.
    let out: Vec<u32> = Inline
        .map(|x: u32| x + 1, 0..5)
        .buffersize(1)
        .timeout(Duration::ZERO)
        .run()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(out, [1, 2, 3, 4, 5]);
    let n = Inline
        .map_unordered(|x: u32| x, 0..5)
        .timeout(Duration::ZERO)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .count();
    assert_eq!(n, 5);

    // MAX: `Instant::now() + Duration::MAX` overflows; it is no timeout at
    // all, so the size hint stays exact and a slow result is waited for.
    let pool = TestPool::new(1);
    let mut it = pool
        .map(
            |x: u32| {
                std::thread::sleep(Duration::from_millis(20));
                x
            },
            0..3,
        )
        .timeout(Duration::MAX)
        .run()
        .unwrap();
    assert_eq!(it.size_hint(), (3, Some(3)));
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(it.map(Result::unwrap).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn map_timeout_counts_the_rest_of_a_partly_yielded_chunk() {
    // Chunks of 3: the first is yielded item by item, then the second
    // (holding the blocked item) times out with all 3 of its items and the
    // 3 of the chunk behind it unfinished.
    let pool = TestPool::new(1);
    let ev = Event::new();
    let e = ev.clone();
    let mut it = pool
        .map(
            move |x: u32| {
                if x == 4 {
                    e.wait();
                }
                x
            },
            0..9,
        )
        .chunksize(3)
        .timeout(Duration::from_millis(200))
        .run()
        .unwrap();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(it.size_hint(), (0, Some(8)));
    assert_eq!(it.next().unwrap().unwrap(), 1);
    assert_eq!(it.next().unwrap().unwrap(), 2);
    let err = it.next().unwrap().unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.message(), "6 (of 9) map results unfinished");
    assert!(it.next().is_none());
    assert_eq!(it.size_hint(), (0, Some(0)));
    ev.set();
}

/// `size_hint` is exact at every step, through chunks that all succeeded,
/// chunks with failures and the end, in both orders.
#[test]
fn map_size_hint_is_exact_throughout() {
    let pool = TestPool::new(2);
    for ordered in [true, false] {
        for (cs, bs) in [(1, None), (4, Some(2)), (5, None), (50, Some(1))] {
            let f = |x: u32| {
                assert!(x % 7 != 3, "seven");
                x
            };
            let b = if ordered {
                pool.map(f, 0..23)
            } else {
                pool.map_unordered(f, 0..23)
            };
            let b = b.chunksize(cs);
            let b = match bs {
                Some(n) => b.buffersize(n),
                None => b,
            };
            let mut it = b.run().unwrap();
            let (mut ok, mut failed) = (Vec::new(), 0);
            for left in (0..=23).rev() {
                assert_eq!(
                    it.size_hint(),
                    (left, Some(left)),
                    "ordered {ordered}, chunksize {cs}"
                );
                match it.next() {
                    Some(Ok(v)) => ok.push(v),
                    Some(Err(e)) => {
                        assert_eq!(e.panic_message(), Some("seven"));
                        failed += 1;
                    }
                    None => assert_eq!(left, 0),
                }
            }
            ok.sort_unstable();
            let want: Vec<u32> = (0..23).filter(|x| x % 7 != 3).collect();
            assert_eq!((ok, failed), (want, 3), "ordered {ordered}, chunksize {cs}");
        }
    }
}

#[test]
fn bad_arguments_are_typed_errors() {
    let pool = TestPool::new(1);
    assert!(matches!(
        pool.map(|x: u8| x, [1]).chunksize(0).run(),
        Err(MapError::ZeroChunksize)
    ));
    assert!(matches!(
        pool.map(|x: u8| x, [1]).buffersize(0).run(),
        Err(MapError::ZeroBuffersize)
    ));
    assert!(matches!(
        pool.map_task(Square, [1]).buffersize(0).run(),
        Err(MapError::ZeroBuffersize)
    ));
}

#[test]
fn map_on_shut_down_executor_is_refused() {
    let pool = TestPool::new(1);
    pool.shutdown();
    match pool.map(|x: u8| x, [1, 2]).run() {
        Err(MapError::Submit(e)) => assert_eq!(e.kind(), ErrorKind::Shutdown),
        other => panic!("expected a submit error, got {other:?}"),
    }
}

#[test]
fn map_buffersize() {
    let pool = TestPool::new(2);
    for bs in [1, 2, 3, 10] {
        let got: Vec<String> = pool
            .map(|x: i32| x.to_string(), 0..4)
            .buffersize(bs)
            .run()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, ["0", "1", "2", "3"]);
    }
}

#[test]
fn map_buffersize_on_infinite_iterable() {
    let pool = TestPool::new(2);
    let mut it = pool
        .map(|x: u64| x.to_string(), 0..)
        .buffersize(2)
        .run()
        .unwrap();
    assert_eq!(it.next().unwrap().unwrap(), "0");
    assert_eq!(it.next().unwrap().unwrap(), "1");
    assert_eq!(it.next().unwrap().unwrap(), "2");
    let mut it = pool
        .map_task(Square, 0..)
        .chunksize(3)
        .buffersize(2)
        .run()
        .unwrap();
    let first: Vec<i64> = it.by_ref().take(10).map(Result::unwrap).collect();
    assert_eq!(first, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    let mut un = pool
        .map_unordered(|x: u64| x, 0..)
        .buffersize(3)
        .run()
        .unwrap();
    assert_eq!(un.by_ref().take(20).count(), 20);
}

/// An input iterator that counts how many items were taken.
fn counted(n: u32, taken: Rc<Cell<u32>>) -> impl Iterator<Item = u32> {
    (0..n).inspect(move |_| taken.set(taken.get() + 1))
}

#[test]
fn map_buffersize_when_buffer_is_full() {
    let pool = TestPool::new(2);
    let taken = Rc::new(Cell::new(0));
    let it = pool
        .map(|x: u32| x, counted(4, Rc::clone(&taken)))
        .buffersize(2)
        .run()
        .unwrap();
    assert_eq!(taken.get(), 2, "exactly buffersize inputs taken ahead");
    drop(it);
}

#[test]
fn map_buffersize_when_buffer_becomes_not_full() {
    let pool = TestPool::new(2);
    let taken = Rc::new(Cell::new(0));
    let mut it = pool
        .map(|x: u32| x, counted(4, Rc::clone(&taken)))
        .buffersize(2)
        .run()
        .unwrap();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(
        taken.get(),
        3,
        "one more input once one result left the buffer"
    );
    // With chunks, the buffer counts chunks.
    let taken = Rc::new(Cell::new(0));
    let _it = pool
        .map(|x: u32| x, counted(100, Rc::clone(&taken)))
        .chunksize(5)
        .buffersize(3)
        .run()
        .unwrap();
    assert_eq!(taken.get(), 15);
}

#[test]
fn dropping_the_iterator_cancels_what_has_not_started() {
    for chunksize in [1, 2] {
        let pool = TestPool::new(1);
        let started = Event::new();
        let release = Event::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let (s, r, c) = (started.clone(), release.clone(), Arc::clone(&calls));
        let it = pool
            .map(
                move |x: u32| {
                    c.fetch_add(1, Ordering::SeqCst);
                    if x == 0 {
                        s.set();
                        r.wait();
                    }
                    x
                },
                0..20,
            )
            .chunksize(chunksize)
            .run()
            .unwrap();
        started.wait();
        drop(it);
        release.set();
        pool.shutdown();
        // Only the first chunk ran; every other chunk was cancelled.
        assert_eq!(calls.load(Ordering::SeqCst), chunksize);
    }
}

static COUNTED_CALLS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, Copy)]
struct Counted;
impl RemoteFn for Counted {
    type Args = u32;
    type Output = u32;
    const NAME: &'static str = "tests::counted";
    const FINGERPRINT: u64 = 13;
    fn call(x: u32) -> Result<u32, BoxError> {
        COUNTED_CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(x)
    }
}

#[test]
fn remote_drop_cancels_too() {
    let pool = TestPool::new(1);
    let blocker = Event::new();
    let b = blocker.clone();
    let gate = pool.submit(move || b.wait()).unwrap();
    let it = pool.map_task(Counted, 0..10).chunksize(3).run().unwrap();
    drop(it);
    blocker.set();
    gate.result().unwrap();
    pool.shutdown();
    assert_eq!(COUNTED_CALLS.load(Ordering::SeqCst), 0);
}

#[test]
fn map_unordered_yields_in_completion_order() {
    let pool = TestPool::new(2);
    let ev = Event::new();
    let e = ev.clone();
    let mut it = pool
        .map_unordered(
            move |x: u32| {
                if x == 0 {
                    e.wait();
                }
                x
            },
            0..5,
        )
        .run()
        .unwrap();
    // 0 is blocked until the others are all out.
    let mut first: Vec<u32> = it.by_ref().take(4).map(Result::unwrap).collect();
    first.sort_unstable();
    assert_eq!(first, [1, 2, 3, 4]);
    ev.set();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert!(it.next().is_none());

    let mut all: Vec<i64> = pool
        .map_task_unordered(Square, 0..30)
        .chunksize(4)
        .buffersize(2)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..30).map(|x| x * x).collect::<Vec<_>>());
}

#[test]
fn map_unordered_timeout() {
    let pool = TestPool::new(1);
    let ev = Event::new();
    let e = ev.clone();
    let out: Vec<_> = pool
        .map_unordered(move |_: u8| e.wait(), [1])
        .timeout(Duration::from_millis(50))
        .run()
        .unwrap()
        .collect();
    assert_eq!(out.len(), 1);
    assert!(out[0].as_ref().unwrap_err().is_timeout());
    ev.set();
}

#[test]
fn map_of_empty_input_is_empty() {
    let pool = TestPool::new(1);
    assert_eq!(pool.map(|x: u8| x, []).run().unwrap().count(), 0);
    assert_eq!(
        pool.map_task_unordered(Square, []).run().unwrap().count(),
        0
    );
}

#[test]
fn submission_refused_mid_way_reports_the_chunk_and_stops() {
    let pool = TestPool::new(1);
    let mut it = pool
        .map(|x: u32| x, 0..)
        .chunksize(1)
        .buffersize(1)
        .run()
        .unwrap();
    assert_eq!(it.next().unwrap().unwrap(), 0);
    pool.shutdown();
    // Item 1 was submitted before the shutdown; item 2's submission fails.
    let rest: Vec<_> = it.collect();
    assert!(rest.len() <= 2, "{rest:?}");
    let last = rest.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::Shutdown);
}

#[test]
fn map_iterators_are_send_and_can_be_consumed_elsewhere() {
    fn assert_send<T: Send>(_: &T) {}
    let pool = TestPool::new(2);
    let it = pool.map(|x: u32| x * 2, 0..10).chunksize(3).run().unwrap();
    assert_send(&it);
    let out: Vec<u32> = std::thread::scope(|s| {
        s.spawn(move || it.map(Result::unwrap).collect())
            .join()
            .unwrap()
    });
    assert_eq!(out, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    let remote = pool.map_task_unordered(Square, 0..3).run().unwrap();
    assert_send(&remote);
}

#[test]
fn map_in_place_chunks_keep_order_and_drop_everything_once() {
    let pool = TestPool::new(2);
    let alive = Arc::new(AtomicUsize::new(0));
    // Same layout in and out (in place), panics at a chunk's first, middle
    // and last item and on two items in a row.
    let panics = [0u64, 4, 7, 8, 9, 15];
    for cs in [1, 3, 8, 16, 100] {
        let inputs: Vec<Tracked> = (0..16).map(|i| Tracked::new(i, &alive)).collect();
        let out_alive = Arc::clone(&alive);
        let out: Vec<_> = pool
            .map(
                move |t: Tracked| {
                    assert!(!panics.contains(&t.value), "bad {}", t.value);
                    Tracked::new(t.value * 10, &out_alive)
                },
                inputs,
            )
            .chunksize(cs)
            .run()
            .unwrap()
            .collect();
        assert_eq!(out.len(), 16);
        for (i, r) in (0u64..).zip(&out) {
            if panics.contains(&i) {
                let e = r.as_ref().unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Panicked, "chunksize {cs}, item {i}");
                assert_eq!(e.panic_message(), Some(format!("bad {i}").as_str()));
            } else {
                assert_eq!(r.as_ref().unwrap().value, i * 10, "chunksize {cs}");
            }
        }
        // Only the outputs are alive; inputs were consumed by `f`.
        assert_eq!(alive.load(Ordering::SeqCst), 16 - panics.len());
        drop(out);
        assert_eq!(alive.load(Ordering::SeqCst), 0, "chunksize {cs}");
    }
}

#[test]
fn map_with_differently_laid_out_outputs() {
    let pool = TestPool::new(2);
    // Smaller, larger and zero-sized outputs take the copying path.
    let small: Vec<u8> = pool
        .map(|x: u64| x as u8, 0..300u64)
        .chunksize(64)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(small, (0..300u64).map(|x| x as u8).collect::<Vec<_>>());
    let large: Vec<(u64, u64)> = pool
        .map(|x: u32| (u64::from(x), u64::from(x) * 2), 0..300u32)
        .chunksize(64)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(large[299], (299, 598));
    let units = pool
        .map(|x: u64| assert!(x != 5), 0..10u64)
        .chunksize(4)
        .run()
        .unwrap()
        .filter(Result::is_err)
        .count();
    assert_eq!(units, 1);
    // Same size, different alignment: copying path too.
    let arrays: Vec<[u8; 8]> = pool
        .map(u64::to_le_bytes, 0..100u64)
        .chunksize(16)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(arrays[7], 7u64.to_le_bytes());
}

/// A `TaskExecutor` that is not an `Executor`: it runs each chunk at once
/// into a `ChunkOutcome` it builds itself, and (a buggy executor) leaves
/// out the last item of a chunk of 3.
struct Handmade;

impl concur_core::Shutdown for Handmade {
    fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
    fn is_shutdown(&self) -> bool {
        false
    }
}

impl concur_core::TaskExecutor for Handmade {
    fn submit_task<F: RemoteFn>(
        &self,
        _f: F,
        args: F::Args,
    ) -> Result<concur_core::Future<F::Output>, SubmitError<F::Args>> {
        Err(SubmitError::new(args, concur_core::Error::shutdown()))
    }
    fn submit_batch<F: RemoteFn>(&self, _f: F, batch: Vec<F::Args>) -> concur_core::BatchResult<F> {
        Err(SubmitError::new(batch, concur_core::Error::shutdown()))
    }
    fn submit_chunk<F: RemoteFn>(&self, _f: F, batch: Vec<F::Args>) -> concur_core::ChunkResult<F> {
        let keep = if batch.len() == 3 { 2 } else { batch.len() };
        let out: concur_core::ChunkOutcome<F::Output> = batch
            .into_iter()
            .take(keep)
            .map(|a| F::call(a).map_err(concur_core::Error::task))
            .collect();
        let (p, fut) = concur_core::Promise::new();
        p.set_result(out).unwrap();
        Ok(fut)
    }
}

/// A remote chunk's `ChunkOutcome` reaches `map_task` as is: its failures
/// at their positions, a clean chunk on the fast path, and a chunk with
/// the wrong number of outcomes failed item by item (`Broken`), never
/// yielded out of place.
/// `inputs` through `Handmade`'s `map_task` (or its unordered form,
/// sorted) at `chunksize`, each outcome reduced to its error kind.
fn handmade_map(ordered: bool, inputs: &[i64], chunksize: usize) -> Vec<Result<i64, ErrorKind>> {
    let inputs = inputs.to_vec();
    let builder = if ordered {
        Handmade.map_task(Inverse, inputs)
    } else {
        Handmade.map_task_unordered(Inverse, inputs)
    };
    let mut out: Vec<_> = builder
        .chunksize(chunksize)
        .run()
        .unwrap()
        .map(|r| r.map_err(|e| e.kind()))
        .collect();
    if !ordered {
        out.sort_by_key(|r| format!("{r:?}"));
    }
    out
}

#[test]
fn map_task_yields_each_remote_chunk_outcome_in_place() {
    for ordered in [true, false] {
        // Chunks [5, 0] (one failure) and [2, 4] (clean).
        let out = handmade_map(ordered, &[5, 0, 2, 4], 2);
        let mut want = vec![Ok(20), Err(ErrorKind::Task), Ok(50), Ok(25)];
        if !ordered {
            want.sort_by_key(|r| format!("{r:?}"));
        }
        assert_eq!(out, want, "ordered: {ordered}");

        // Chunks of 3: each answered with 2 outcomes.
        let out = handmade_map(ordered, &[10, 0, 20, 1, 2, 4], 3);
        assert_eq!(out, vec![Err(ErrorKind::Broken); 6], "ordered: {ordered}");
    }
}

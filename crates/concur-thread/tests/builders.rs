//! The constructors and the builder: every way to make a pool gives the
//! same pool, every refused setting says "… must be at least 1" (or what
//! else is wrong), and `ThreadPool::default()` is CPython's
//! `ThreadPoolExecutor()`.

use concur_core::{ErrorKind, Executor};
use concur_thread::{BuildError, Builder, ThreadPool, default_max_workers};
use std::cell::Cell;

fn settings(p: &ThreadPool) -> (usize, bool, bool, usize) {
    (
        p.max_workers(),
        p.is_shutdown(),
        p.is_broken(),
        p.num_threads(),
    )
}

#[test]
fn constructors_are_equivalent() {
    let by_new = ThreadPool::new(3).unwrap();
    let by_builder = ThreadPool::builder().max_workers(3).build().unwrap();
    let by_builder_new = Builder::new().max_workers(3).build().unwrap();
    let by_builder_default = Builder::default().max_workers(3).build().unwrap();
    for p in [&by_new, &by_builder, &by_builder_new, &by_builder_default] {
        assert_eq!(settings(p), (3, false, false, 0));
        assert!(p.thread_name_prefix().starts_with("concur-pool-"));
        assert_eq!(p.submit(|| 5).unwrap().into_result().unwrap(), 5);
    }
    // Each pool numbers its own default prefix.
    assert_ne!(by_new.thread_name_prefix(), by_builder.thread_name_prefix());
}

#[test]
fn default_pool_is_cpythons_thread_pool_executor() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pool = ThreadPool::default();
    assert_eq!(pool.max_workers(), 32.min(cpus + 4));
    assert_eq!(pool.max_workers(), default_max_workers());
    assert_eq!(settings(&pool), (default_max_workers(), false, false, 0));
    assert!(pool.thread_name_prefix().starts_with("concur-pool-"));
    assert_eq!(pool.submit(|| "ran").unwrap().into_result().unwrap(), "ran");

    let same = ThreadPool::with_default_workers().unwrap();
    let built = ThreadPool::builder().build().unwrap();
    assert_eq!(settings(&same), settings(&built));
    assert_eq!(same.max_workers(), pool.max_workers());
    assert_ne!(same.thread_name_prefix(), pool.thread_name_prefix());
}

#[test]
fn every_refusal_names_the_setting() {
    let msg = |r: Result<ThreadPool, BuildError>| r.unwrap_err().to_string();
    assert_eq!(msg(ThreadPool::new(0)), "max_workers must be at least 1");
    assert_eq!(
        msg(ThreadPool::builder().max_workers(0).build()),
        "max_workers must be at least 1"
    );
    assert_eq!(
        msg(ThreadPool::builder().stack_size(0).build()),
        "stack_size must be at least 1"
    );
    assert_eq!(
        msg(ThreadPool::builder().thread_name_prefix("").build()),
        "thread_name_prefix must not be empty"
    );
    assert_eq!(
        msg(ThreadPool::builder().thread_name_prefix("a\0b").build()),
        "thread_name_prefix must not contain a NUL byte"
    );
    // 1 is the smallest accepted value of each.
    assert!(ThreadPool::new(1).is_ok());
    assert!(ThreadPool::builder().stack_size(1).build().is_ok());
}

thread_local!(static SEEN: Cell<u32> = const { Cell::new(0) });

#[test]
fn a_cloned_builder_builds_the_same_pool_twice() {
    let builder = ThreadPool::builder()
        .max_workers(2)
        .thread_name_prefix("twin")
        .initializer(|| -> Result<(), std::io::Error> {
            SEEN.with(|s| s.set(11));
            Ok(())
        });
    let text = format!("{builder:?}");
    assert!(
        text.contains("max_workers: Some(2)") && text.contains("initializer: Some(Fn)"),
        "{text}"
    );
    let a = builder.clone().build().unwrap();
    let b = builder.build().unwrap();
    for p in [&a, &b] {
        assert_eq!(p.max_workers(), 2);
        assert_eq!(p.thread_name_prefix(), "twin");
        // The shared initializer ran in this pool's worker too.
        assert_eq!(
            p.submit(|| SEEN.with(Cell::get))
                .unwrap()
                .into_result()
                .unwrap(),
            11
        );
    }
}

#[test]
fn debug_shows_bound_live_threads_and_lifecycle() {
    let pool = ThreadPool::builder()
        .max_workers(2)
        .thread_name_prefix("dbg")
        .build()
        .unwrap();
    assert_eq!(
        format!("{pool:?}"),
        "ThreadPool { max_workers: 2, num_threads: 0, shutdown: false, broken: false, \
         thread_name_prefix: \"dbg\", .. }"
    );
    pool.submit(|| ()).unwrap().wait();
    pool.shutdown();
    assert_eq!(
        format!("{pool:?}"),
        "ThreadPool { max_workers: 2, num_threads: 1, shutdown: true, broken: false, \
         thread_name_prefix: \"dbg\", .. }"
    );
    let broken = ThreadPool::builder()
        .max_workers(1)
        .thread_name_prefix("b")
        .initializer(|| Err::<(), _>("no database"))
        .build()
        .unwrap();
    let err = broken.submit(|| ()).unwrap().into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Broken);
    assert!(format!("{broken:?}").contains("broken: true"), "{broken:?}");
}

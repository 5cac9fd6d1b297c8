//! Which idle worker a submitted task goes to: the most recently freed
//! one (LIFO), whose caches and scheduler slot are warm, never the one
//! idle longest.

use concur_core::{Future, Promise};
use concur_remote::{Book, Promises, RemoteCall};
use concur_testkit::Halve;

fn task(generation: u64) -> (RemoteCall, Future<u32>) {
    let (p, f) = Promise::new();
    let t = RemoteCall::from_frame(
        generation,
        vec![1],
        Box::new(Promises::<Halve>::new(vec![p])),
    );
    (t, f)
}

fn submit(book: &mut Book<u8>, generation: u64) -> usize {
    let (t, _f) = task(generation);
    book.submit(t).unwrap().expect("an idle worker").slot
}

#[test]
fn work_goes_to_the_most_recently_freed_worker() {
    let mut book = Book::<u8>::new(3, None);
    for slot in 0..3 {
        book.starting(slot);
    }
    // Ready in the order 2, 0, 1: the newest idle is slot 1.
    for slot in [2, 0, 1] {
        assert!(book.ready(slot, slot as u8).is_none());
    }
    assert_eq!(submit(&mut book, 1), 1);
    assert_eq!(submit(&mut book, 2), 0);
    // Slot 0 finishes first, then slot 1: slot 1 is the warmest.
    assert!(book.done(0, 2).task.is_some());
    assert!(book.done(1, 1).task.is_some());
    assert_eq!(submit(&mut book, 3), 1);
    assert_eq!(submit(&mut book, 4), 0);
    assert_eq!(submit(&mut book, 5), 2, "the coldest worker last");
}

#[test]
fn sequential_tasks_stay_on_one_worker() {
    let mut book = Book::<u8>::new(2, None);
    for slot in 0..2 {
        book.starting(slot);
        assert!(book.ready(slot, 0).is_none());
    }
    let first = submit(&mut book, 1);
    assert!(book.done(first, 1).task.is_some());
    for generation in 2..10 {
        let slot = submit(&mut book, generation);
        assert_eq!(slot, first);
        assert!(book.done(slot, generation).task.is_some());
    }
}

//! Loom models of the injector itself (blocks of 2 slots and one spare
//! block under loom): values cross block boundaries while blocks are
//! destroyed, listed as spare, reused and freed. The thread pool's models
//! (`tests/loom.rs`) run over this same queue.
//!
//! Run with `cargo xtask loom -p concur-thread`.

use super::Injector;
use concur_sync::sync::Arc;
use concur_sync::thread;

/// A producer racing a consumer across several blocks. Every value comes
/// out once, in order.
#[test]
fn injector_fifo_across_reused_blocks() {
    loom::model(|| {
        let q = Arc::new(Injector::<u32>::new());
        let producer = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for i in 0..5 {
                    q.push(i);
                }
            })
        };
        let mut got = Vec::new();
        while got.len() < 5 {
            match q.pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert!(q.is_empty());
    });
}

/// Two consumers finishing a block together: the reader of the block's
/// last slot and the reader of an earlier one race in the `READ`/`DESTROY`
/// hand-off; whichever finishes last recycles the block, which the next
/// pushes then reuse. Every value comes out exactly once, and values left
/// in the queue are dropped with it.
#[test]
fn injector_concurrent_readers_recycle_a_block_once() {
    loom::model(|| {
        let q = Arc::new(Injector::<Arc<u32>>::new());
        let token = Arc::new(7u32);
        // Fill the first block (2 slots under loom) and start the next.
        for _ in 0..3 {
            q.push(Arc::clone(&token));
        }
        let other = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.pop().is_some())
        };
        let mine = q.pop().is_some();
        let theirs = other.join().unwrap();
        assert!(mine && theirs);
        // The emptied block is reused (or freed) by these pushes.
        q.push(Arc::clone(&token));
        q.push(Arc::clone(&token));
        // One queued from before plus the two just pushed: 1 + 3 clones.
        assert_eq!(Arc::strong_count(&token), 4);
        assert!(q.pop().is_some());
        drop(q);
        assert_eq!(Arc::strong_count(&token), 1);
    });
}

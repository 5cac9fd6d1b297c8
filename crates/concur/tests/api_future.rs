//! The future surface as a user writes it (issue #13): chaining values that
//! are not `Clone`, futures as map keys.

use concur::combinators::{FutureExt, gather, join_all, select};
use concur::thread::ThreadPool;
use concur::{Error, Executor, Future};
use std::time::Duration;

/// Not `Clone` (and not `Sync`, through the `Cell`).
struct Page {
    body: std::cell::Cell<Vec<u8>>,
}

fn fetch(pool: &ThreadPool, n: u8) -> Future<Page> {
    pool.submit(move || Page {
        body: std::cell::Cell::new(vec![n; n as usize]),
    })
    .unwrap()
}

#[test]
fn chaining_a_result_that_is_not_clone() -> Result<(), Error> {
    let pool = ThreadPool::new(2).unwrap();

    let len = fetch(&pool, 3)
        .with_timeout(Duration::from_secs(10))
        .and_then(|p| Future::ready(p.body.into_inner().len()))
        .or_else(|_| Ok(0));
    assert_eq!(len.into_result()?, 3);

    let t = fetch(&pool, 2).with_timeout_cancelling(Duration::from_secs(10));
    assert_eq!(t.into_result()?.body.into_inner(), [2, 2]);

    let pages = join_all((1..=3).map(|n| fetch(&pool, n))).into_result()?;
    let sizes: Vec<usize> = pages
        .into_iter()
        .map(|p| p.body.into_inner().len())
        .collect();
    assert_eq!(sizes, [1, 2, 3]);

    let outcomes =
        gather([fetch(&pool, 1), Future::from_error(Error::task("404"))]).into_result()?;
    assert!(outcomes[0].is_ok() && outcomes[1].is_err());

    let (i, first) = select([fetch(&pool, 4)]).into_result()?;
    assert_eq!((i, first?.body.into_inner().len()), (0, 4));
    Ok(())
}

// Clippy's `mutable_key_type` sees the shared state's atomics; the hash is
// the identity, which never changes (see `Future`'s docs).
#[allow(clippy::mutable_key_type)]
#[test]
fn futures_key_a_map_read_back_in_completion_order() {
    use concur::combinators::as_completed;
    use std::collections::HashMap;

    let pool = ThreadPool::new(2).unwrap();
    let urls = [
        "http://a.example",
        "http://bb.example",
        "http://ccc.example",
    ];
    // Python: {executor.submit(load_url, url): url for url in URLS}
    let future_to_url: HashMap<Future<String>, &str> = urls
        .iter()
        .map(|&url| {
            let fut = pool.submit(move || format!("{} bytes", url.len())).unwrap();
            (fut, url)
        })
        .collect();
    assert_eq!(future_to_url.len(), 3, "distinct futures are distinct keys");

    let mut seen = Vec::new();
    for fut in as_completed(future_to_url.keys()) {
        let url = future_to_url[&fut]; // a clone finds its original's entry
        let body = fut.result().unwrap();
        assert_eq!(*body, format!("{} bytes", url.len()));
        seen.push(url);
    }
    seen.sort_unstable();
    assert_eq!(seen, urls);
}

#[allow(clippy::mutable_key_type)]
#[test]
fn a_future_and_its_erased_handle_share_an_identity() {
    use std::collections::HashSet;
    let (_p, f) = concur::Promise::<u8>::new();
    let g = f.clone();
    assert_eq!(f, g);
    assert_eq!(f.id(), f.erase().id());
    assert_eq!(f.erase(), g.erase());
    let set: HashSet<Future<u8>> = [f.clone(), g, Future::ready(1)].into_iter().collect();
    assert_eq!(set.len(), 2);
    assert!(set.contains(&f));
}

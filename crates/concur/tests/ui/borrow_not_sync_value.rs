// A future of a `!Sync` value can be moved out (`into_result`), but not
// borrowed from a shared handle: `result()` hands out `&T` to any thread
// holding a clone.
use std::cell::Cell;

fn main() {
    let fut = concur::Future::ready(Cell::new(5));
    let _ = fut.result();
}

// `gather` moves each value out, so it takes owned futures: a borrowed
// vector is refused with a message naming the fix.
use concur::asyncio::{RaiseFirst, gather};

fn main() {
    let futs = vec![concur::Future::ready(1)];
    let _ = gather(&futs, RaiseFirst);
}

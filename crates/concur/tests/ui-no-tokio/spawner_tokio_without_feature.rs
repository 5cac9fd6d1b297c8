// Without concur's `tokio` feature a tokio handle is not a `Spawner`: the
// error names the feature.
fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ = concur::asyncio::run_coroutine_threadsafe(async { 1 }, rt.handle());
}

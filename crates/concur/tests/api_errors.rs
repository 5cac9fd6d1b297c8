//! Errors convert with `?` into `concur::Error`, `concur::BoxError` and
//! `anyhow::Error`, as user code writes them.

use concur::prelude::*;
use std::sync::mpsc;

// ---- 1. `?` on a refused submission, whatever the closure holds ----------

/// The closure holds an `mpsc::Receiver`: `Send`, not `Sync`.
fn submit_into_concur_error(pool: &ThreadPool) -> Result<u32, concur::Error> {
    let (tx, rx) = mpsc::channel::<u32>();
    let fut = pool.submit(move || rx.recv())?;
    tx.send(7).unwrap();
    let got = fut.into_result()?;
    Ok(got.unwrap_or(0))
}

fn submit_into_box_error(pool: &ThreadPool) -> Result<u32, concur::BoxError> {
    let (tx, rx) = mpsc::channel::<u32>();
    let fut = pool.submit(move || rx.recv())?;
    tx.send(8)?;
    Ok(fut.into_result()??)
}

fn submit_into_anyhow(pool: &ThreadPool) -> anyhow::Result<u32> {
    let (tx, rx) = mpsc::channel::<u32>();
    let fut = pool.submit(move || rx.recv())?;
    tx.send(9)?;
    Ok(fut.into_result()??)
}

#[test]
fn question_mark_on_submit_accepts_send_only_closures() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(submit_into_concur_error(&pool).unwrap(), 7);
    assert_eq!(submit_into_box_error(&pool).unwrap(), 8);
    assert_eq!(submit_into_anyhow(&pool).unwrap(), 9);
}

#[test]
fn question_mark_on_a_refused_submit_reports_the_shutdown() {
    let pool = ThreadPool::new(1).unwrap();
    pool.shutdown();
    let e = submit_into_concur_error(&pool).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shutdown);

    let e = submit_into_box_error(&pool).unwrap_err();
    assert_eq!(e.to_string(), "task refused: executor has been shut down");
    let refused = e.source().and_then(|s| s.downcast_ref::<concur::Error>());
    assert_eq!(refused.unwrap().kind(), ErrorKind::Shutdown);

    let e = submit_into_anyhow(&pool).unwrap_err();
    assert_eq!(e.to_string(), "task refused: executor has been shut down");
    let cause = e
        .source()
        .expect("the SubmitError's source is the concur error");
    assert_eq!(
        cause.downcast_ref::<concur::Error>().unwrap().kind(),
        ErrorKind::Shutdown
    );
}

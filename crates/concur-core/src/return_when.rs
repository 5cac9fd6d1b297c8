//! The condition vocabulary shared by blocking and async `wait`.

/// When `wait` returns: CPython's `FIRST_COMPLETED`, `FIRST_EXCEPTION` and
/// `ALL_COMPLETED`. Shared by `concur_combinators::wait` and the async
/// `concur_async::wait`.
///
/// # Examples
///
/// ```
/// assert_eq!(concur_core::ReturnWhen::default(), concur_core::ReturnWhen::AllCompleted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// As soon as any future is done (finished, failed or cancelled).
    FirstCompleted,
    /// As soon as any future fails (a cancellation does not count), or
    /// when all are done if none fails.
    FirstException,
    /// When every future is done.
    #[default]
    AllCompleted,
}

/// What `wait` returns: `(done, not_done)`, each in input order
/// (CPython's `DoneAndNotDoneFuturesPair`, with vectors for sets).
///
/// # Examples
///
/// ```
/// let pair: concur_core::DoneAndNotDone<u8> = (vec![1], vec![]);
/// assert_eq!(pair.0.len(), 1);
/// ```
pub type DoneAndNotDone<H> = (Vec<H>, Vec<H>);

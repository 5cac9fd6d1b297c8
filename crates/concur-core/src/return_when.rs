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

impl ReturnWhen {
    /// Whether the condition holds once `done` of `total` futures are done
    /// (finished, failed or cancelled), `any_failed` saying whether one of
    /// those failed (a cancellation is not a failure). The one check behind
    /// the blocking and the async `wait`, applied to a snapshot before
    /// waiting and again after each completion. With no futures at all
    /// (`total == 0`) every condition holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::ReturnWhen;
    /// assert!(ReturnWhen::FirstCompleted.holds(1, 3, false));
    /// assert!(!ReturnWhen::FirstException.holds(2, 3, false));
    /// assert!(ReturnWhen::FirstException.holds(1, 3, true));
    /// assert!(!ReturnWhen::AllCompleted.holds(2, 3, true));
    /// assert!(ReturnWhen::AllCompleted.holds(0, 0, false));
    /// ```
    #[must_use]
    pub fn holds(self, done: usize, total: usize, any_failed: bool) -> bool {
        match self {
            Self::FirstCompleted => done > 0 || total == 0,
            Self::FirstException => any_failed || done >= total,
            Self::AllCompleted => done >= total,
        }
    }
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

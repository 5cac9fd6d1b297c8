//! The future's states and their byte encoding.

use std::fmt;

pub(crate) const PENDING: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const FINISHED: u8 = 2;
pub(crate) const FAILED: u8 = 3;
pub(crate) const CANCELLED: u8 = 4;

pub(crate) const fn is_terminal(s: u8) -> bool {
    s >= FINISHED
}

/// Where a future is in its life.
///
/// `Pending → Running → Finished | Failed`, or `Pending → Cancelled`; the
/// last three are terminal ("done") and never change again.
///
/// # Examples
///
/// ```
/// use concur_core::{Promise, State};
///
/// let (promise, fut) = Promise::<u8>::new();
/// assert_eq!(fut.state(), State::Pending);
/// assert!(promise.set_running_or_notify_cancel().unwrap());
/// assert_eq!(fut.state(), State::Running);
/// promise.set_result(1).unwrap();
/// assert_eq!(fut.state(), State::Finished);
/// assert!(fut.state().is_done());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Created, not started; can still be cancelled.
    Pending,
    /// Started by an executor; can no longer be cancelled.
    Running,
    /// Done with a value.
    Finished,
    /// Done with an error (a panic, a task error, a broken executor…).
    Failed,
    /// Cancelled before it started.
    Cancelled,
}

impl State {
    pub(crate) fn from_u8(s: u8) -> Self {
        match s {
            PENDING => Self::Pending,
            RUNNING => Self::Running,
            FINISHED => Self::Finished,
            FAILED => Self::Failed,
            _ => Self::Cancelled,
        }
    }

    /// Whether the state is terminal (finished, failed or cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!concur_core::State::Running.is_done());
    /// ```
    #[must_use]
    pub const fn is_done(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Cancelled)
    }

    /// The lowercase name, as in CPython's repr.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_core::State::Pending.as_str(), "pending");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Finished | Self::Failed => "finished",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

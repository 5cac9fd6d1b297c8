//! [`StartMethod`]: how a process pool starts its workers.

/// How worker processes are started.
///
/// # Examples
///
/// ```
/// let m = concur_process::StartMethod::default();
/// assert_eq!(m, concur_process::StartMethod::Spawn);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMethod {
    /// Re-execute the current binary with a token in the environment;
    /// [`init`](crate::init) at the top of `main` diverts it into the
    /// worker loop. Nothing of the parent's memory is inherited.
    #[default]
    Spawn,
    /// Re-execute the current binary once as a single-threaded fork server
    /// (diverted by [`init`](crate::init) before any user code runs), which
    /// then `fork`s each worker: replacing a worker costs a fork, not an
    /// exec, and no worker inherits a lock held by one of this process's
    /// threads. (CPython starts its fork server the same way.)
    ForkServer,
}

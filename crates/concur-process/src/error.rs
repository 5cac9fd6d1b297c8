//! The pool's own errors: [`BuildError`], and the infrastructure failures a
//! future can fail with ([`WorkerDied`], [`ProtocolViolation`]), and the
//! advice they give when workers never start (`init_hint`).

use crate::sys::ExitCause;
use concur_core::{Error, ErrorKind};
use std::fmt;

/// What to tell a user whose workers never complete their start: why the
/// automatic worker guard did not divert them (this binary's copies behave
/// as this process would), and what to do.
pub(crate) fn init_hint() -> String {
    format!(
        "{}; call `concur::process::init()` (or `concur_process::init()`) as the first \
         statement of `main` (in a test: a `harness = false` target's `main`), so that the \
         worker processes the pool starts from this binary are diverted into the worker loop",
        crate::hook::state()
    )
}

/// Why a worker process died while running a task: the future of that task
/// fails with an error of kind [`ErrorKind::WorkerDied`](concur_core::ErrorKind::WorkerDied)
/// whose source is this (downcastable).
///
/// A task handed to a worker that dies before it even read the task fails
/// the same way: the pool cannot know whether it started.
///
/// # Examples
///
/// ```
/// use concur_process::{ExitCause, WorkerDied};
/// let e = WorkerDied { pid: 42, cause: ExitCause::Signal(9) };
/// assert_eq!(
///     e.to_string(),
///     "worker process 42 died while running the task: killed by signal 9 (SIGKILL)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerDied {
    /// The worker's process id.
    pub pid: u32,
    /// Its exit code or signal.
    pub cause: ExitCause,
}

impl fmt::Display for WorkerDied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "worker process {} died while running the task: {}",
            self.pid, self.cause
        )
    }
}

impl std::error::Error for WorkerDied {}

/// An [`ErrorKind::WorkerDied`] error
/// whose source is the `WorkerDied` (what a task's future fails with).
///
/// # Examples
///
/// ```
/// use concur_process::{ExitCause, WorkerDied};
/// let e = concur_core::Error::from(WorkerDied { pid: 42, cause: ExitCause::Code(3) });
/// assert_eq!(e.kind(), concur_core::ErrorKind::WorkerDied);
/// assert_eq!(e.downcast_ref::<WorkerDied>().unwrap().pid, 42);
/// ```
impl From<WorkerDied> for Error {
    fn from(e: WorkerDied) -> Self {
        e.into_error()
    }
}

impl WorkerDied {
    /// The future's error for this death (kind `WorkerDied`).
    pub(crate) fn into_error(self) -> Error {
        Error::infrastructure(ErrorKind::WorkerDied, self)
    }
}

/// A worker broke the pool's protocol (sent a message out of turn, or a
/// malformed or oversized frame): it was retired at once and its task, if
/// it ran one, fails with an error of kind
/// [`ErrorKind::Protocol`](concur_core::ErrorKind::Protocol) whose source
/// is this.
///
/// # Examples
///
/// ```
/// let e = concur_process::ProtocolViolation { pid: 7, received: "a Hello frame while running a task".into() };
/// assert_eq!(
///     e.to_string(),
///     "protocol violation by worker process 7: it sent a Hello frame while running a task; \
///      the worker was retired"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolViolation {
    /// The worker's process id.
    pub pid: u32,
    /// What it sent.
    pub received: String,
}

impl fmt::Display for ProtocolViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "protocol violation by worker process {}: it sent {}; the worker was retired",
            self.pid, self.received
        )
    }
}

impl std::error::Error for ProtocolViolation {}

/// An [`ErrorKind::Protocol`] error whose
/// source is the `ProtocolViolation`.
///
/// # Examples
///
/// ```
/// let v = concur_process::ProtocolViolation { pid: 7, received: "garbage".into() };
/// let e = concur_core::Error::from(v.clone());
/// assert_eq!(e.kind(), concur_core::ErrorKind::Protocol);
/// assert_eq!(e.downcast_ref::<concur_process::ProtocolViolation>(), Some(&v));
/// ```
impl From<ProtocolViolation> for Error {
    fn from(e: ProtocolViolation) -> Self {
        Error::infrastructure(ErrorKind::Protocol, e)
    }
}

/// Why [`Builder::build`](crate::Builder::build) failed.
///
/// # Examples
///
/// ```
/// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
/// assert_eq!(err.to_string(), "max_workers must be at least 1");
/// ```
#[derive(Debug)]
pub struct BuildError {
    pub(crate) kind: BuildErrorKind,
}

#[derive(Debug)]
pub(crate) enum BuildErrorKind {
    /// In a worker: a nested pool.
    InWorker,
    /// In a copy of the program started by a pool that reached a pool's
    /// `build` instead of the worker loop (no guard ran).
    Undiverted,
    Config(ConfigError),
    Io(std::io::Error),
    Start(Error),
    Registry(concur_ipc::RemoteError),
}

/// A refused setting.
#[derive(Debug)]
pub(crate) enum ConfigError {
    /// The sentence naming the setting ("max_workers must be at least 1").
    Setting(&'static str),
    /// The initializer (named) has arguments that cannot be encoded or
    /// sent in the handshake.
    InitArgs(&'static str, concur_ipc::RemoteError),
}

impl BuildError {
    pub(crate) fn config(why: &'static str) -> Self {
        Self {
            kind: BuildErrorKind::Config(ConfigError::Setting(why)),
        }
    }

    pub(crate) fn init_args(initializer: &'static str, why: concur_ipc::RemoteError) -> Self {
        Self {
            kind: BuildErrorKind::Config(ConfigError::InitArgs(initializer, why)),
        }
    }

    pub(crate) fn io(e: std::io::Error) -> Self {
        Self {
            kind: BuildErrorKind::Io(e),
        }
    }

    /// Whether the build was refused because this process is itself a pool
    /// worker (nested pools are not allowed), or a copy of the program
    /// started by a pool that was not diverted into the worker loop (no
    /// pre-`main` hook on this platform, and `main` did not call
    /// [`init`](crate::init)).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(!err.is_in_worker());
    /// ```
    #[must_use]
    pub fn is_in_worker(&self) -> bool {
        matches!(
            self.kind,
            BuildErrorKind::InWorker | BuildErrorKind::Undiverted
        )
    }

    /// Whether a setting was refused (zero workers, a zero timeout,
    /// initializer arguments that cannot be encoded or sent...).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(err.is_config());
    /// ```
    #[must_use]
    pub fn is_config(&self) -> bool {
        matches!(self.kind, BuildErrorKind::Config(_))
    }

    /// The pool's error if the workers could not be started (the binary
    /// does not divert its copies, an initializer that failed, workers from
    /// a different build, a start that failed repeatedly).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(err.start_error().is_none());
    /// ```
    #[must_use]
    pub fn start_error(&self) -> Option<&Error> {
        match &self.kind {
            BuildErrorKind::Start(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::InWorker => f.write_str(
                "cannot create a process pool inside a pool worker process: nested pools are \
                 refused",
            ),
            BuildErrorKind::Undiverted => write!(
                f,
                "cannot create a process pool in a copy of this program started by a pool \
                 that was not diverted into the worker loop: {}",
                init_hint()
            ),
            // The setting's own sentence, worded as the thread pool's.
            BuildErrorKind::Config(ConfigError::Setting(m)) => f.write_str(m),
            BuildErrorKind::Io(e) => write!(f, "could not set up the pool: {e}"),
            BuildErrorKind::Start(e) => write!(f, "could not start the workers: {e}"),
            BuildErrorKind::Registry(e) => {
                write!(f, "the remote-function registry is ambiguous: {e}")
            }
            BuildErrorKind::Config(ConfigError::InitArgs(name, e)) => {
                let what = match e.kind() {
                    concur_ipc::RemoteErrorKind::FrameTooLarge => "are too large",
                    _ => "cannot be encoded",
                };
                write!(
                    f,
                    "the arguments ({}) of the initializer `{name}` {what}: {}",
                    e.type_name(),
                    e.message()
                )
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Io(e) => Some(e),
            BuildErrorKind::Start(e) => Some(e),
            BuildErrorKind::Registry(e) | BuildErrorKind::Config(ConfigError::InitArgs(_, e)) => {
                Some(e)
            }
            _ => None,
        }
    }
}

/// The build failure as an [`Error`] with the same text, whose source is
/// the `BuildError`, so `?` works in a function returning
/// `Result<_, concur_core::Error>`. The kind says what went wrong: a
/// refused setting or an ambiguous remote-function registry is
/// [`InvalidConfig`](ErrorKind::InvalidConfig), building inside a pool
/// worker is [`InvalidState`](ErrorKind::InvalidState), a failed set-up is
/// [`Broken`](ErrorKind::Broken), and workers that could not start keep
/// their own error's kind.
///
/// # Examples
///
/// ```
/// use concur_process::{BuildError, ProcessPool};
///
/// fn pool() -> Result<ProcessPool, concur_core::Error> {
///     Ok(ProcessPool::builder().max_workers(0).build()?)
/// }
/// let err = pool().unwrap_err();
/// assert_eq!(err.kind(), concur_core::ErrorKind::InvalidConfig);
/// assert!(err.downcast_ref::<BuildError>().unwrap().is_config());
/// ```
impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        let kind = match &e.kind {
            BuildErrorKind::InWorker | BuildErrorKind::Undiverted => ErrorKind::InvalidState,
            BuildErrorKind::Config(_) | BuildErrorKind::Registry(_) => ErrorKind::InvalidConfig,
            BuildErrorKind::Io(_) => ErrorKind::Broken,
            BuildErrorKind::Start(start) => start.kind(),
        };
        Error::with_source(kind, e)
    }
}

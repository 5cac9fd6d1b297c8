//! The crate's errors: [`MpiError`] (an MPI call that returned an error
//! code) and [`BuildError`] (a pool that could not be built).

use concur_core::{Error, ErrorKind};
use std::fmt;

/// An MPI call returned an error code (the crate's communicator uses
/// `MPI_ERRORS_RETURN`, so errors come back instead of aborting the job).
///
/// # Examples
///
/// ```
/// // Runs as a one-rank singleton world (no mpirun needed).
/// let world = concur_mpi::init().unwrap();
/// let err = concur_mpi::init().unwrap_err(); // MPI initialises once
/// assert!(err.to_string().starts_with("MPI_Init_thread refused: MPI was already initialised"));
/// # drop(world);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiError {
    call: &'static str,
    code: i32,
    message: String,
}

impl MpiError {
    pub(crate) fn new(call: &'static str, code: i32, message: String) -> Self {
        Self {
            call,
            code,
            message,
        }
    }

    /// The MPI function that failed (`"MPI_Send"`).
    ///
    /// # Examples
    ///
    /// ```
    /// let world = concur_mpi::init().unwrap(); // a singleton world
    /// assert_eq!(concur_mpi::init().unwrap_err().call(), "MPI_Init_thread");
    /// # drop(world);
    /// ```
    #[must_use]
    pub fn call(&self) -> &'static str {
        self.call
    }

    /// The error code it returned (`-1` for a failure this crate detected
    /// before calling MPI, such as a second initialisation).
    ///
    /// # Examples
    ///
    /// ```
    /// let world = concur_mpi::init().unwrap(); // a singleton world
    /// assert_eq!(concur_mpi::init().unwrap_err().code(), -1);
    /// # drop(world);
    /// ```
    #[must_use]
    pub fn code(&self) -> i32 {
        self.code
    }
}

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code < 0 {
            write!(f, "{} refused: {}", self.call, self.message)
        } else if self.message.is_empty() {
            write!(f, "{} failed with error code {}", self.call, self.code)
        } else {
            write!(
                f,
                "{} failed: {} (error code {})",
                self.call, self.message, self.code
            )
        }
    }
}

impl std::error::Error for MpiError {}

/// An MPI failure as a [`concur_core::Error`] of kind
/// [`Broken`](ErrorKind::Broken) (nothing more can be exchanged), whose
/// source is the `MpiError`.
///
/// # Examples
///
/// ```
/// let world = concur_mpi::init().unwrap(); // a singleton world
/// let err = concur_core::Error::from(concur_mpi::init().unwrap_err());
/// assert_eq!(err.kind(), concur_core::ErrorKind::Broken);
/// assert!(err.downcast_ref::<concur_mpi::MpiError>().is_some());
/// # drop(world);
/// ```
impl From<MpiError> for Error {
    fn from(e: MpiError) -> Self {
        Error::with_source(ErrorKind::Broken, e)
    }
}

/// Why [`Builder::build`](crate::Builder::build) failed.
///
/// # Examples
///
/// ```
/// // Without `concur_mpi::init()` there is no MPI world to build on.
/// let err = concur_mpi::MpiPool::builder().build().unwrap_err();
/// assert!(err.to_string().contains("concur_mpi::init()"));
/// ```
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
enum BuildErrorKind {
    NotInitialized,
    NotRoot(i32),
    NoWorkers,
    AlreadyBuilt,
    ThreadLevel(i32),
    Config(std::borrow::Cow<'static, str>),
    InitArgs(String),
    Mpi(MpiError),
    Start(Error),
}

impl BuildError {
    pub(crate) fn not_initialized() -> Self {
        Self {
            kind: BuildErrorKind::NotInitialized,
        }
    }
    pub(crate) fn not_root(rank: i32) -> Self {
        Self {
            kind: BuildErrorKind::NotRoot(rank),
        }
    }
    pub(crate) fn no_workers() -> Self {
        Self {
            kind: BuildErrorKind::NoWorkers,
        }
    }
    pub(crate) fn already_built() -> Self {
        Self {
            kind: BuildErrorKind::AlreadyBuilt,
        }
    }
    pub(crate) fn thread_level(level: i32) -> Self {
        Self {
            kind: BuildErrorKind::ThreadLevel(level),
        }
    }
    pub(crate) fn config(why: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self {
            kind: BuildErrorKind::Config(why.into()),
        }
    }
    pub(crate) fn init_args(why: String) -> Self {
        Self {
            kind: BuildErrorKind::InitArgs(why),
        }
    }
    pub(crate) fn mpi(e: MpiError) -> Self {
        Self {
            kind: BuildErrorKind::Mpi(e),
        }
    }
    pub(crate) fn start(e: Error) -> Self {
        Self {
            kind: BuildErrorKind::Start(e),
        }
    }

    /// The pool's error if its worker ranks could not be started (a worker
    /// from a different build refused at the handshake, an MPI failure).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_mpi::MpiPool::builder().build().unwrap_err();
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
            BuildErrorKind::NotInitialized => f.write_str(
                "MPI is not initialised: call `concur_mpi::init()` as the first statement of \
                 `main`",
            ),
            BuildErrorKind::NotRoot(rank) => {
                write!(
                    f,
                    "an MPI pool is built on rank 0 only (this is rank {rank})"
                )
            }
            BuildErrorKind::NoWorkers => f.write_str(
                "the MPI world has no worker ranks for StartMethod::World: run the program under \
                 `mpirun -n N` with N >= 2 (rank 0 submits, ranks 1..N work), or let the pool \
                 spawn its workers (StartMethod::Spawn, or Auto)",
            ),
            BuildErrorKind::AlreadyBuilt => {
                f.write_str("the world's worker ranks already serve another MPI pool")
            }
            BuildErrorKind::ThreadLevel(level) => write!(
                f,
                "the MPI library granted thread level {level}: the pool needs \
                 MPI_THREAD_SERIALIZED at least (MPI_THREAD_MULTIPLE preferred)"
            ),
            BuildErrorKind::Config(why) => f.write_str(why),
            BuildErrorKind::InitArgs(why) => {
                write!(f, "the initializer's arguments cannot be encoded: {why}")
            }
            BuildErrorKind::Mpi(e) => write!(f, "could not set up the pool: {e}"),
            BuildErrorKind::Start(e) => write!(f, "could not start the workers: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Mpi(e) => Some(e),
            BuildErrorKind::Start(e) => Some(e),
            _ => None,
        }
    }
}

/// The build failure as an [`Error`] whose source is the `BuildError`.
///
/// # Examples
///
/// ```
/// let err: concur_core::Error = concur_mpi::MpiPool::builder().build().unwrap_err().into();
/// assert_eq!(err.kind(), concur_core::ErrorKind::InvalidState);
/// ```
impl From<BuildError> for Error {
    fn from(e: BuildError) -> Self {
        let kind = match &e.kind {
            BuildErrorKind::Config(_) | BuildErrorKind::InitArgs(_) => ErrorKind::InvalidConfig,
            BuildErrorKind::Mpi(_) => ErrorKind::Broken,
            BuildErrorKind::Start(s) => s.kind(),
            _ => ErrorKind::InvalidState,
        };
        Error::with_source(kind, e)
    }
}

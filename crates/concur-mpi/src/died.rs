//! [`RankDied`]: the error a task's future fails with when the worker
//! rank running it dies.

use concur_core::{Error, ErrorKind};
use std::fmt;

/// The worker rank running a task died (killed, crashed, exited): that
/// task's future fails with an error of kind
/// [`ErrorKind::WorkerDied`] whose source is this (downcastable). Noticed
/// through the rank's liveness link, which needs `mpirun --enable-recovery`
/// (without it, Open MPI ends the whole job when a rank dies).
///
/// # Examples
///
/// ```
/// use concur_mpi::RankDied;
/// let e = RankDied { rank: 2, pid: Some(4242), host: Some("node-3".into()) };
/// assert_eq!(
///     e.to_string(),
///     "worker rank 2 (pid 4242 on node-3) died while running the task"
/// );
/// let err = concur_core::Error::from(e);
/// assert_eq!(err.kind(), concur_core::ErrorKind::WorkerDied);
/// assert_eq!(err.downcast_ref::<RankDied>().unwrap().rank, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankDied {
    /// The worker's rank.
    pub rank: i32,
    /// Its process id, if its liveness link told it.
    pub pid: Option<u32>,
    /// Its host (MPI processor name), if its liveness link told it.
    pub host: Option<String>,
}

impl RankDied {
    /// "worker rank 2 (pid 4242 on node-3)": the rank and what is known of
    /// its process.
    pub(crate) fn who(&self) -> String {
        let mut s = format!("worker rank {}", self.rank);
        match (self.pid, &self.host) {
            (Some(pid), Some(host)) => s += &format!(" (pid {pid} on {host})"),
            (Some(pid), None) => s += &format!(" (pid {pid})"),
            (None, Some(host)) => s += &format!(" (on {host})"),
            (None, None) => {}
        }
        s
    }
}

impl fmt::Display for RankDied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} died while running the task", self.who())
    }
}

impl std::error::Error for RankDied {}

impl From<RankDied> for Error {
    fn from(e: RankDied) -> Self {
        Error::infrastructure(ErrorKind::WorkerDied, e)
    }
}

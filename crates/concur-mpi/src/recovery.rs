//! Whether the job survives a rank's death, and what that changes at the
//! end of the job.
//!
//! Open MPI 4 kills the whole job when a rank dies unless it was started
//! with `mpirun --enable-recovery`. With recovery the job lives on, but
//! `MPI_Finalize` does not: it ends with a fence over every rank of the
//! world, the dead included, which waits forever (measured here: every
//! rank stuck in `ompi_mpi_finalize`'s sleep loop, intermittently, after a
//! rank was killed). So under recovery no rank of a concur-mpi job calls
//! `MPI_Finalize`: the workers exit once told to, rank 0's pool waits for
//! those exits (their liveness links close) before its shutdown returns,
//! and rank 0's `World` ends without finalizing. Every message that
//! matters was answered before that point, so nothing is lost. The rule is
//! the same on every rank (a fence of some ranks with others gone would
//! hang as well), and fixed for the job: it reads `mpirun`'s environment.

/// Whether the job survives the death of a rank: Open MPI's
/// `mpirun --enable-recovery` (which sets `OMPI_MCA_orte_enable_recovery=1`
/// in every rank), or the user says so (`CONCUR_MPI_ASSUME_RECOVERY=1`).
pub(crate) fn enabled() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
    set("OMPI_MCA_orte_enable_recovery") || set("CONCUR_MPI_ASSUME_RECOVERY")
}

/// Whether ranks call `MPI_Finalize` at the end (not under recovery: see
/// the module's note).
pub(crate) fn finalizes() -> bool {
    !enabled()
}

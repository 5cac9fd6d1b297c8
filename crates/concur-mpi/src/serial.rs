//! The fallback for an MPI library that grants `MPI_THREAD_SERIALIZED`
//! but not `MPI_THREAD_MULTIPLE`: MPI may then be called from any thread,
//! but by one at a time. The pool's manager stops blocking in
//! `MPI_Mprobe` (a blocked call would keep every other thread out) and
//! polls with `MPI_Improbe` instead, holding [`lock`] for each turn and
//! waiting between turns on a condition variable that submitters signal
//! (`PoolShared::wake` then makes no MPI call); a spawn holds the lock
//! too. With `MPI_THREAD_MULTIPLE` none of this runs and [`lock`] takes
//! nothing.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// The one MPI caller at a time, under `MPI_THREAD_SERIALIZED`.
static SERIAL: Mutex<()> = Mutex::new(());

/// Whether MPI calls must be serialized: the library granted less than
/// `MPI_THREAD_MULTIPLE`.
pub(crate) fn serialized() -> bool {
    crate::world::runtime().is_some_and(|r| r.thread_level < crate::raw::thread_multiple())
}

/// Holds the process's MPI calls to this thread while the guard lives,
/// when they must be serialized; `None` (nothing held) otherwise.
pub(crate) fn lock() -> Option<MutexGuard<'static, ()>> {
    serialized().then(|| SERIAL.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The thread level `init` asks for: `MPI_THREAD_MULTIPLE`, unless
/// `CONCUR_MPI_THREAD_LEVEL=serialized` asks for the fallback (for a
/// library whose `MPI_THREAD_MULTIPLE` is slow or broken).
pub(crate) fn wanted() -> std::os::raw::c_int {
    match std::env::var("CONCUR_MPI_THREAD_LEVEL").as_deref() {
        Ok("serialized") => crate::raw::thread_serialized(),
        _ => crate::raw::thread_multiple(),
    }
}

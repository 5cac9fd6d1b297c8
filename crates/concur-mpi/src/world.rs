//! World mode: [`init`] initialises MPI, diverts ranks other than 0 into
//! the worker loop, and hands rank 0 a [`World`] whose drop finalizes MPI.

use crate::error::MpiError;
use crate::liveness::{self, Listening};
use crate::raw::{self, Comm};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// What `init` set up, for the pool and the worker loop. A process-wide
/// fact (MPI initialises once per process), hence a `std` static.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) comm: Comm,
    pub(crate) rank: i32,
    pub(crate) size: i32,
    pub(crate) thread_level: i32,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Rank 0's liveness listener, taken by the world's one pool.
static LISTENING: Mutex<Option<Listening>> = Mutex::new(None);
/// Pools alive on this rank (finalize must wait for them).
pub(crate) static LIVE_POOLS: AtomicUsize = AtomicUsize::new(0);
/// Whether a pool was ever built over the world's workers (a world
/// serves one pool: its workers exit when that pool shuts down).
pub(crate) static BUILT: AtomicBool = AtomicBool::new(false);

pub(crate) fn runtime() -> Option<&'static Runtime> {
    RUNTIME.get()
}

/// Rank 0's liveness listener (once: a world serves one pool).
pub(crate) fn take_listening() -> Option<Listening> {
    LISTENING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Rank 0's handle on the MPI world: drop it (after every pool) at the end
/// of `main` to finalize MPI. If no pool was ever built, dropping it also
/// tells the worker ranks to exit, so the job ends.
///
/// # Examples
///
/// ```
/// // Without mpirun this is a one-rank singleton world.
/// let world = concur_mpi::init().unwrap();
/// assert_eq!(world.rank(), 0);
/// println!("{} worker ranks", world.size() - 1);
/// ```
#[derive(Debug)]
#[must_use = "dropping the World finalizes MPI"]
pub struct World {
    _private: (),
}

impl World {
    /// This process's rank (always 0: other ranks never get a `World`).
    ///
    /// # Examples
    ///
    /// ```
    /// // Without mpirun this is a one-rank singleton world.
    /// assert_eq!(concur_mpi::init().unwrap().rank(), 0);
    /// ```
    #[must_use]
    pub fn rank(&self) -> i32 {
        runtime().map_or(0, |r| r.rank)
    }

    /// The number of ranks in the world (workers are `size() - 1`).
    ///
    /// # Examples
    ///
    /// ```
    /// // Without mpirun this is a one-rank singleton world.
    /// assert!(concur_mpi::init().unwrap().size() >= 1);
    /// ```
    #[must_use]
    pub fn size(&self) -> i32 {
        runtime().map_or(1, |r| r.size)
    }

    /// The thread support level the library granted (`MPI_THREAD_MULTIPLE`
    /// was asked for; see [`World::thread_multiple`]).
    ///
    /// # Examples
    ///
    /// ```
    /// // Without mpirun this is a one-rank singleton world.
    /// let world = concur_mpi::init().unwrap();
    /// println!("thread level {}", world.thread_level());
    /// ```
    #[must_use]
    pub fn thread_level(&self) -> i32 {
        runtime().map_or(0, |r| r.thread_level)
    }

    /// Whether `MPI_THREAD_MULTIPLE` was granted (without it, but with
    /// `MPI_THREAD_SERIALIZED`, the pool's manager polls under a lock).
    ///
    /// # Examples
    ///
    /// ```
    /// // Without mpirun this is a one-rank singleton world.
    /// assert!(concur_mpi::init().unwrap().thread_multiple());
    /// ```
    #[must_use]
    pub fn thread_multiple(&self) -> bool {
        self.thread_level() >= raw::thread_multiple()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if LIVE_POOLS.load(Ordering::SeqCst) > 0 {
            // Finalizing under a live manager thread is undefined; leaving
            // MPI unfinalized makes mpirun report the failure instead.
            eprintln!(
                "concur-mpi: the World was dropped while an MpiPool is alive; MPI is not \
                 finalized (drop the pools first)"
            );
            return;
        }
        if !BUILT.load(Ordering::SeqCst) {
            release_unused_workers();
        }
        let alone = runtime().is_some_and(|r| r.size == 1);
        if !crate::recovery::finalizes() && !alone {
            // Under `--enable-recovery` the finalize fence could wait for
            // a dead rank forever; the workers have exited (see
            // `recovery`). A singleton's fence is over itself alone (its
            // spawned workers were disconnected), so it finalizes.
            return;
        }
        if let Err(e) = raw::finalize() {
            eprintln!("concur-mpi: {e}");
        }
    }
}

/// Rank 0 never built a pool: the worker ranks still wait for one (they
/// sent their `Hello`), and would keep the job alive forever. Tell each to
/// exit.
fn release_unused_workers() {
    if let Some(rt) = runtime() {
        release_workers(rt.comm, usize::try_from(rt.size - 1).unwrap_or(0));
    }
}

/// Tells the workers on `comm` (ranks 1..=`workers`), which no manager
/// serves, to exit. Best effort: a failure is reported.
pub(crate) fn release_workers(comm: Comm, workers: usize) {
    let mut frame = Vec::new();
    if concur_ipc::encode_frame(&concur_ipc::Request::Exit, 1 << 10, &mut frame).is_err() {
        return;
    }
    for slot in 0..workers {
        let rank = crate::shared::rank_of(slot);
        if let Err(e) = comm.send(&frame, rank, crate::tags::REQUEST) {
            eprintln!("concur-mpi: could not release worker rank {rank}: {e}");
        }
    }
}

/// Initialises MPI (asking for `MPI_THREAD_MULTIPLE`, or for
/// `MPI_THREAD_SERIALIZED` if `CONCUR_MPI_THREAD_LEVEL=serialized`); on ranks other than
/// 0, serves the pool that rank 0 builds and then exits the process
/// without returning; on rank 0, returns the [`World`]. Call it as the
/// first statement of `main`, before any thread is started.
///
/// Run the program as `mpirun -n N ./program` (as root add
/// `--allow-run-as-root`; more ranks than cores need `--oversubscribe`).
/// Unless the environment sets it, `init` sets Open MPI's
/// `mpi_yield_when_idle` (`OMPI_MCA_mpi_yield_when_idle=1`), so that the
/// manager thread's blocking probe yields its core instead of spinning.
/// Run without `mpirun`, it is a world of one rank, whose pools spawn
/// their workers ([`StartMethod`](crate::StartMethod)); in a process a
/// pool spawned, `init` serves that pool and exits the process.
///
/// # Errors
///
/// An [`MpiError`] if MPI was already initialised or could not be.
///
/// # Examples
///
/// ```no_run
/// // no_run: a worker rank never returns from `init`; run under mpirun.
/// let world = concur_mpi::init().expect("MPI");
/// // ... build an MpiPool, submit work ...
/// drop(world);
/// ```
pub fn init() -> Result<World, MpiError> {
    // Open MPI's blocking calls spin on a core unless the job is
    // oversubscribed; the manager thread blocks in `MPI_Mprobe`, and its
    // spin starved rank 0's other threads and the workers: a round trip
    // took 4 ms on 2 ranks on 2 cores, 3.5 µs with yielding. A user's own
    // setting wins.
    if !raw::env_default("OMPI_MCA_mpi_yield_when_idle", "1") {
        eprintln!(
            "concur-mpi: init ran after other threads started, so it could not set \
             OMPI_MCA_mpi_yield_when_idle=1 (set it yourself, or call init first): without it \
             the manager's probe may spin a core"
        );
    }
    let thread_level = raw::init_thread(crate::serial::wanted())?;
    raw::self_errors_return()?;
    let host = raw::processor_name()?;
    if let Some(parent) = raw::parent()? {
        // Spawned by a pool: its rank 0 is the parent (it merges low).
        let comm = parent.merge(true)?;
        let rank = set_runtime(comm, thread_level)?;
        let offer = liveness::exchange(comm, None)?;
        serve_and_exit(comm, rank, &host, offer, Some(parent));
    }
    let comm = Comm::world_dup()?;
    let rank = set_runtime(comm, thread_level)?;
    let size = comm.size()?;
    let listening = if rank == 0 && size > 1 {
        liveness::listen(&host)
    } else {
        None
    };
    let offer = liveness::exchange(comm, listening.as_ref().map(|l| &l.offer))?;
    if rank == 0 {
        *LISTENING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = listening;
    } else {
        serve_and_exit(comm, rank, &host, offer, None);
    }
    Ok(World { _private: () })
}

/// Records what `init` set up on `comm`; returns this process's rank.
fn set_runtime(comm: Comm, thread_level: i32) -> Result<i32, MpiError> {
    let rank = comm.rank()?;
    let size = comm.size()?;
    let _ = RUNTIME.set(Runtime {
        comm,
        rank,
        size,
        thread_level,
    });
    Ok(rank)
}

/// A worker rank's life after `init`: connect its liveness link, serve
/// rank 0 until told to exit, disconnect from the pool that spawned it
/// (if one did), finalize unless recovery forbids it, and exit.
fn serve_and_exit(
    comm: Comm,
    rank: i32,
    host: &str,
    offer: Option<liveness::Offer>,
    parent: Option<Comm>,
) -> ! {
    if let Some(link) = offer.and_then(|o| liveness::connect(&o, rank, host)) {
        let spawned = std::thread::Builder::new()
            .name("concur-mpi-watchdog".into())
            .spawn(move || liveness::watch_rank0(link, rank));
        if let Err(e) = spawned {
            eprintln!("concur-mpi worker rank {rank}: no watchdog thread ({e})");
        }
    }
    let mut code = crate::worker::serve(comm);
    liveness::RELEASED.store(true, Ordering::SeqCst);
    if let Some(parent) = parent {
        // The pool disconnects once every worker was told to exit; both
        // sides must, before either may finalize.
        let freed = comm.free().and_then(|()| parent.disconnect());
        if let Err(e) = freed {
            eprintln!("concur-mpi worker rank {rank}: {e}");
            code = 1;
        }
    }
    if crate::recovery::finalizes() {
        if let Err(e) = raw::finalize() {
            eprintln!("concur-mpi worker rank {rank}: {e}");
            code = 1;
        }
    }
    // Under `--enable-recovery` the finalize fence could wait for a dead
    // rank forever (see `recovery`); rank 0 waits for this exit instead.
    std::process::exit(code);
}

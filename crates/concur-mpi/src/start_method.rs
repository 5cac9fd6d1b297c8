//! [`StartMethod`]: where an MPI pool's worker ranks come from.

/// Where an [`MpiPool`](crate::MpiPool)'s worker ranks come from
/// (mpi4py's two modes: `mpiexec -n N python -m mpi4py.futures`, and
/// `MPIPoolExecutor` spawning its workers).
///
/// # Examples
///
/// ```
/// let m = concur_mpi::StartMethod::default();
/// assert_eq!(m, concur_mpi::StartMethod::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMethod {
    /// [`World`](StartMethod::World) when the program runs under `mpirun`
    /// with more than one rank, else [`Spawn`](StartMethod::Spawn).
    #[default]
    Auto,
    /// The ranks 1..N of `mpirun -n N ./program`, diverted into the worker
    /// loop by [`init`](crate::init). A world serves one pool, and a rank
    /// that dies cannot be replaced: the pool shrinks.
    World,
    /// `MPI_Comm_spawn` starts
    /// [`max_workers`](crate::Builder::max_workers) new processes running
    /// this program (its path and arguments), whose
    /// [`init`](crate::init) diverts them into the worker loop; the pool's
    /// shutdown disconnects them and they exit. Works without `mpirun`
    /// (a singleton, Open MPI), and any number of pools may be built, one
    /// after another or side by side.
    Spawn,
}

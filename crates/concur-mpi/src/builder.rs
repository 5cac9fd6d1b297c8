//! [`Builder`]: the settings of an [`MpiPool`].

use crate::error::BuildError;
use crate::pool::MpiPool;
use crate::start_method::StartMethod;
use concur_core::RemoteFn;
use concur_ipc::FnRef;
use std::time::Duration;

/// The pool's initializer: the function, its name (for messages), and its
/// arguments, encoded when it was set (or why they could not be).
#[derive(Debug, Clone)]
pub(crate) struct Initializer {
    pub(crate) func: FnRef,
    pub(crate) name: &'static str,
    pub(crate) args: Result<Vec<u8>, String>,
}

/// Builds an [`MpiPool`]: over the world's ranks 1..N, or over workers it
/// spawns (see [`StartMethod`]).
///
/// # Examples
///
/// ```no_run
/// // no_run: needs `mpirun -n N`.
/// let world = concur_mpi::init().unwrap();
/// let pool = concur_mpi::MpiPool::builder().max_frame(1 << 20).build().unwrap();
/// # drop(pool); drop(world);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder {
    pub(crate) max_frame: usize,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) task_timeout: Option<Duration>,
    pub(crate) start_method: StartMethod,
    pub(crate) max_workers: Option<usize>,
    pub(crate) spawn_info: Vec<(String, String)>,
    pub(crate) check_build: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            max_frame: concur_ipc::DEFAULT_MAX_FRAME,
            initializer: None,
            task_timeout: None,
            start_method: StartMethod::Auto,
            max_workers: None,
            spawn_info: Vec::new(),
            check_build: true,
        }
    }
}

/// The most workers one pool spawns (a sanity bound: each is a process).
pub(crate) const MAX_SPAWN: usize = 4096;

impl Builder {
    /// Whether the handshake refuses a worker from another build of the
    /// program (default `true`): the registry fingerprint catches changed
    /// function names and signatures, the build identity
    /// ([`concur_ipc::build_id`]: the executable's GNU build-id) a changed
    /// body too. Switch it off for a cluster whose nodes run binaries
    /// built separately (another architecture, another toolchain) from the
    /// same source; the registry check stays.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_mpi::MpiPool::builder().check_build(false);
    /// # drop(b);
    /// ```
    pub fn check_build(mut self, on: bool) -> Self {
        self.check_build = on;
        self
    }

    /// Where the worker ranks come from (default [`StartMethod::Auto`]:
    /// the world's ranks under `mpirun -n N` with N > 1, else spawned).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_mpi::{MpiPool, StartMethod};
    /// let b = MpiPool::builder().start_method(StartMethod::Spawn).max_workers(2);
    /// # drop(b);
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }

    /// How many workers to spawn (default: the machine's available
    /// parallelism, as the process pool). In world mode the workers are
    /// the world's ranks 1..N: a `max_workers` other than N - 1 is
    /// refused at [`build`](Self::build) rather than silently ignored.
    /// 0, and more than 4096, are refused.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_mpi::MpiPool::builder().max_workers(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "max_workers must be at least 1");
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// An `MPI_Info` key for the spawn (`MPI_Comm_spawn`'s `info`, which
    /// rsmpi cannot pass): Open MPI reads `host`, `hostfile`, `add-host`,
    /// `wdir`, `map_by`, `bind_to` and more. Unless `map_by` is given the
    /// pool passes `map_by = slot:OVERSUBSCRIBE`, so that a pool may have
    /// more workers than the machine has free cores, as a process pool
    /// may. Ignored in world mode.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_mpi::MpiPool::builder().spawn_info("host", "node1,node2");
    /// # drop(b);
    /// ```
    pub fn spawn_info(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spawn_info.push((key.into(), value.into()));
        self
    }

    /// The largest frame (a call's arguments, a reply's results) either
    /// side accepts, in bytes; default [`concur_ipc::DEFAULT_MAX_FRAME`]
    /// (64 MiB). At least 64 bytes and at most `i32::MAX` (an MPI count).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_mpi::MpiPool::builder().max_frame(10).build().unwrap_err();
    /// assert_eq!(err.to_string(), "max_frame must be between 64 bytes and i32::MAX");
    /// ```
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// A remote function each worker rank runs once before its first task
    /// (CPython's `initializer` with `initargs`). If it returns an error or
    /// panics on a rank, the pool is broken and [`build`](Self::build)
    /// fails naming it.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn connect(url: String) -> Result<(), String> {
    ///         if url.is_empty() { Err("no url".into()) } else { Ok(()) }
    ///     }
    /// }
    /// let b = concur_mpi::MpiPool::builder().initializer_with(connect, "db://x".into());
    /// # drop(b);
    /// ```
    pub fn initializer_with<F: RemoteFn>(mut self, _f: F, args: F::Args) -> Self {
        self.initializer = Some(Initializer {
            func: FnRef::of::<F>(),
            name: F::NAME,
            args: concur_ipc::encode(&args).map_err(|e| e.to_string()),
        });
        self
    }

    /// Per-task time limit: a task running longer fails with an error of
    /// kind [`Timeout`](concur_core::ErrorKind::Timeout), and its rank is
    /// killed (it kills itself when rank 0 says so over its liveness link)
    /// and retired: a rank cannot be replaced in world mode, so the pool
    /// shrinks, and is broken once no rank is left. Overruns are noticed
    /// within a quarter of the limit (at most 1 s) after it passes.
    ///
    /// Killing a rank ends the whole job unless it runs under
    /// `mpirun --enable-recovery`, so [`build`](Self::build) refuses a
    /// `task_timeout` without it (Open MPI tells its ranks through
    /// `OMPI_MCA_orte_enable_recovery=1`; set `CONCUR_MPI_ASSUME_RECOVERY=1`
    /// for an MPI that survives a rank's death another way).
    /// `Duration::MAX` means no limit (the default); `Duration::ZERO` is
    /// refused at `build`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_mpi::MpiPool::builder().task_timeout(std::time::Duration::from_secs(60));
    /// # drop(b);
    /// ```
    pub fn task_timeout(mut self, limit: Duration) -> Self {
        self.task_timeout = (limit != Duration::MAX).then_some(limit);
        self
    }

    /// Spawns the workers (in spawn mode), starts the manager thread and
    /// waits until every worker rank completed its handshake.
    ///
    /// # Errors
    ///
    /// A [`BuildError`]: MPI not initialised by [`init`](crate::init), not
    /// rank 0, a world without worker ranks (world mode), a second pool
    /// over the same world, a spawn that failed, `MPI_THREAD_MULTIPLE` not granted, a refused setting, or
    /// workers that could not start (a worker from a different build is
    /// refused at the handshake: [`BuildError::start_error`]).
    ///
    /// # Examples
    ///
    /// ```
    /// // Outside `mpirun` and without `init()`: a typed error, no hang.
    /// assert!(concur_mpi::MpiPool::builder().build().is_err());
    /// ```
    pub fn build(self) -> Result<MpiPool, BuildError> {
        match self.max_workers {
            Some(0) => return Err(BuildError::config("max_workers must be at least 1")),
            Some(n) if n > MAX_SPAWN => {
                return Err(BuildError::config("max_workers must be at most 4096"));
            }
            _ => {}
        }
        if !(64..=i32::MAX as usize).contains(&self.max_frame) {
            return Err(BuildError::config(
                "max_frame must be between 64 bytes and i32::MAX",
            ));
        }
        if self.task_timeout == Some(Duration::ZERO) {
            return Err(BuildError::config(
                "task_timeout must be more than zero (Duration::MAX means no limit)",
            ));
        }
        if self.task_timeout.is_some() && !crate::recovery::enabled() {
            return Err(BuildError::config(
                "task_timeout kills the rank of a task that overruns, and killing a rank ends the \
                 whole job unless it was started with `mpirun --enable-recovery` (set \
                 CONCUR_MPI_ASSUME_RECOVERY=1 if your MPI survives a rank's death another way)",
            ));
        }
        if let Some(Initializer { args: Err(why), .. }) = &self.initializer {
            return Err(BuildError::init_args(why.clone()));
        }
        MpiPool::start(self)
    }
}

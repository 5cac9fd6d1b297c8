//! [`Builder`]: the settings of an [`MpiPool`] (world mode).

use crate::error::BuildError;
use crate::pool::MpiPool;
use concur_core::RemoteFn;
use concur_ipc::FnRef;

/// The pool's initializer: the function, its name (for messages), and its
/// arguments, encoded when it was set (or why they could not be).
#[derive(Debug, Clone)]
pub(crate) struct Initializer {
    pub(crate) func: FnRef,
    pub(crate) name: &'static str,
    pub(crate) args: Result<Vec<u8>, String>,
}

/// Builds an [`MpiPool`] over the world's ranks 1..N.
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
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            max_frame: concur_ipc::DEFAULT_MAX_FRAME,
            initializer: None,
        }
    }
}

impl Builder {
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

    /// Starts the manager thread and waits until every worker rank
    /// completed its handshake.
    ///
    /// # Errors
    ///
    /// A [`BuildError`]: MPI not initialised by [`init`](crate::init), not
    /// rank 0, a world without worker ranks, a second pool over the same
    /// world, `MPI_THREAD_MULTIPLE` not granted, a refused setting, or
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
        if !(64..=i32::MAX as usize).contains(&self.max_frame) {
            return Err(BuildError::config(
                "max_frame must be between 64 bytes and i32::MAX",
            ));
        }
        if let Some(Initializer { args: Err(why), .. }) = &self.initializer {
            return Err(BuildError::init_args(why.clone()));
        }
        MpiPool::start(self)
    }
}

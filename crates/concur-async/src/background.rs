//! [`BackgroundRuntime`]: a built-in single-thread runtime for programs that
//! have no event loop of their own but want to run coroutines from threads.

use crate::spawn::{BoxedCoroutine, SpawnError, Spawner};
use concur_core::Promise;
use concur_sync::sync::{Arc, Mutex};
use std::fmt;
use std::thread::{JoinHandle, ThreadId};

type Exec = async_executor::Executor<'static>;

/// A thread running an [`async_executor::Executor`] loop: submit coroutines
/// to it from any thread with
/// [`run_coroutine_threadsafe`](crate::run_coroutine_threadsafe).
///
/// Dropping the runtime (or [`shutdown`](Self::shutdown)) stops the loop
/// and joins its thread; coroutines that had not finished are dropped and
/// their futures fail with [`Shutdown`](concur_core::ErrorKind::Shutdown),
/// and spawners refuse new tasks from then on.
///
/// # Examples
///
/// ```
/// use concur_async::{run_coroutine_threadsafe, BackgroundRuntime};
///
/// let rt = BackgroundRuntime::new().unwrap();
/// let spawner = rt.spawner();
/// let t = std::thread::spawn(move || {
///     *run_coroutine_threadsafe(async { 21 * 2 }, &spawner).result().unwrap()
/// });
/// assert_eq!(t.join().unwrap(), 42);
/// ```
pub struct BackgroundRuntime {
    spawner: BackgroundSpawner,
    stop: Option<Promise<()>>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

/// A clonable handle that spawns tasks onto a [`BackgroundRuntime`].
///
/// # Examples
///
/// ```
/// use concur_async::{run_coroutine_threadsafe, BackgroundRuntime};
///
/// let rt = BackgroundRuntime::new().unwrap();
/// let spawner = rt.spawner();
/// drop(rt);
/// let fut = run_coroutine_threadsafe(async { 1 }, &spawner);
/// assert_eq!(fut.result().unwrap_err().kind(), concur_core::ErrorKind::Shutdown);
/// ```
#[derive(Clone)]
pub struct BackgroundSpawner {
    exec: Arc<Mutex<Option<Arc<Exec>>>>,
}

impl BackgroundRuntime {
    /// Starts the runtime's thread (named `concur-async-runtime`).
    ///
    /// # Errors
    ///
    /// The OS error if the thread cannot be spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = concur_async::BackgroundRuntime::new().unwrap();
    /// rt.shutdown();
    /// ```
    pub fn new() -> std::io::Result<Self> {
        let exec = Arc::new(Exec::new());
        let (stop, stopped) = Promise::<()>::new();
        let looping = exec.clone();
        let thread = std::thread::Builder::new()
            .name("concur-async-runtime".into())
            .spawn(move || {
                futures_lite::future::block_on(looping.run(async move {
                    // Completed (or abandoned) by `shutdown`.
                    let _ = stopped.await;
                }));
            })?;
        Ok(Self {
            spawner: BackgroundSpawner {
                exec: Arc::new(Mutex::new(Some(exec))),
            },
            stop: Some(stop),
            thread_id: thread.thread().id(),
            thread: Some(thread),
        })
    }

    /// A handle to spawn onto this runtime from other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = concur_async::BackgroundRuntime::new().unwrap();
    /// let _s = rt.spawner();
    /// ```
    pub fn spawner(&self) -> BackgroundSpawner {
        self.spawner.clone()
    }

    /// Stops the loop and joins its thread (not when called from a task on
    /// the runtime itself: the loop then stops after that task's poll).
    /// Unfinished coroutines are dropped; their futures fail with
    /// [`Shutdown`](concur_core::ErrorKind::Shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_async::{run_coroutine_threadsafe, BackgroundRuntime};
    ///
    /// let rt = BackgroundRuntime::new().unwrap();
    /// let fut = run_coroutine_threadsafe(std::future::pending::<()>(), &rt);
    /// rt.shutdown();
    /// assert!(fut.result().unwrap_err().kind() == concur_core::ErrorKind::Shutdown);
    /// ```
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // Refuse new tasks first, so none is queued after the loop ends.
        let exec = self.spawner.exec.lock().take();
        if let Some(stop) = self.stop.take() {
            let _ = stop.set_result(());
        }
        if let Some(thread) = self.thread.take() {
            if std::thread::current().id() != self.thread_id {
                let _ = thread.join();
            }
        }
        // Dropping the last handle to the executor drops every task it still
        // holds (their futures fail with `Shutdown`).
        drop(exec);
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

impl Spawner for BackgroundSpawner {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        let exec = self.exec.lock().clone();
        match exec {
            Some(exec) => {
                Exec::spawn(&exec, task).detach();
                Ok(())
            }
            None => Err(SpawnError::new(task)),
        }
    }
}

impl Spawner for BackgroundRuntime {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        self.spawner.spawn(task)
    }
}

impl Spawner for async_executor::Executor<'static> {
    /// Spawns a detached task; whoever drives the executor (`run`, as
    /// smol does) polls it.
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        async_executor::Executor::spawn(self, task).detach();
        Ok(())
    }
}

impl fmt::Debug for BackgroundRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundRuntime")
            .field("thread", &self.thread_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BackgroundSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self.exec.lock().is_some();
        f.debug_struct("BackgroundSpawner")
            .field("open", &open)
            .finish()
    }
}

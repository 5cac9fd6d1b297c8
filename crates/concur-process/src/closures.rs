//! `submit`, `submit_fallible`, `map` and `map_unordered` on a
//! [`ProcessPool`], the names a thread-pool user tries first. A process
//! pool cannot run closures (their code has no name a worker could look
//! up), so these methods never compile: they exist so the error names the
//! fix (`submit_task` / `map_task` with a `concur::remote!` function)
//! instead of "no method named `submit`".

use crate::ProcessPool;

mod sealed {
    /// Implemented by nothing: the traits below hold for no type.
    pub trait Never {
        type Out;
        fn refuse(self) -> Self::Out;
    }
}

/// What [`ProcessPool::submit`] would need: implemented by no type, since a
/// process pool runs only named functions.
///
/// # Examples
///
/// Submit a `remote!` function with `submit_task` instead:
///
/// ```
/// use concur_core::TaskExecutor;
///
/// concur_ipc::remote! {
///     fn double(x: u64) -> u64 { 2 * x }
/// }
///
/// fn main() {
///     let pool = concur_process::ProcessPool::new(2).unwrap();
///     assert_eq!(pool.submit_task(double, 21).unwrap().into_result().unwrap(), 42);
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "a `ProcessPool` cannot `submit` a closure: it runs only functions declared with `concur::remote!`",
    label = "use `pool.submit_task(f, args)` with a `remote!` function",
    note = "a closure's code cannot be named in another process: declare `concur::remote! {{ fn f(x: u64) -> u64 {{ .. }} }}` and call `pool.submit_task(f, x)`; closures need a `ThreadPool`"
)]
pub trait SubmitToProcessPool {
    /// The type `submit` would return.
    type Output;
    #[doc(hidden)]
    fn refuse(self) -> Self::Output;
}

#[diagnostic::do_not_recommend]
impl<T: sealed::Never> SubmitToProcessPool for T {
    type Output = T::Out;
    fn refuse(self) -> T::Out {
        sealed::Never::refuse(self)
    }
}

/// What [`ProcessPool::map`] would need: implemented by no type, since a
/// process pool maps only named functions (with `map_task`).
///
/// # Examples
///
/// Map a `remote!` function with `map_task` instead:
///
/// ```
/// use concur_combinators::TaskExecutorExt;
///
/// concur_ipc::remote! {
///     fn double(x: u64) -> u64 { 2 * x }
/// }
///
/// fn main() {
///     let pool = concur_process::ProcessPool::new(2).unwrap();
///     let out: Vec<u64> = pool.map_task(double, [1, 2]).run().unwrap().map(Result::unwrap).collect();
///     assert_eq!(out, [2, 4]);
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "a `ProcessPool` has no `map`: use `map_task` with a function declared with `concur::remote!`",
    label = "use `pool.map_task(f, inputs)`",
    note = "a process pool runs only named functions (a closure's code cannot be named in another process): declare `concur::remote! {{ fn f(x: u64) -> u64 {{ .. }} }}` and call `pool.map_task(f, inputs)` (trait `TaskExecutorExt`)"
)]
pub trait MapOnProcessPool {
    /// The type `map` would return.
    type Output;
    #[doc(hidden)]
    fn refuse(self) -> Self::Output;
}

#[diagnostic::do_not_recommend]
impl<T: sealed::Never> MapOnProcessPool for T {
    type Output = T::Out;
    fn refuse(self) -> T::Out {
        sealed::Never::refuse(self)
    }
}

impl ProcessPool {
    /// Does not compile: a process pool cannot run closures. Use
    /// [`submit_task`](concur_core::TaskExecutor::submit_task) with a
    /// function declared in `concur::remote!`; the compile error says so.
    ///
    /// # Examples
    ///
    /// ```compile_fail
    /// let pool = concur_process::ProcessPool::new(2).unwrap();
    /// let fut = pool.submit(|| 6 * 7);
    /// ```
    pub fn submit<F: SubmitToProcessPool>(&self, f: F) -> F::Output {
        f.refuse()
    }

    /// Does not compile, like [`submit`](Self::submit): use
    /// [`submit_task`](concur_core::TaskExecutor::submit_task) with a
    /// `remote!` function returning a `Result`.
    ///
    /// # Examples
    ///
    /// ```compile_fail
    /// let pool = concur_process::ProcessPool::new(2).unwrap();
    /// let fut = pool.submit_fallible(|| "7".parse::<u8>());
    /// ```
    pub fn submit_fallible<F: SubmitToProcessPool>(&self, f: F) -> F::Output {
        f.refuse()
    }

    /// Does not compile: a process pool maps only named functions. Use
    /// `map_task` (trait `TaskExecutorExt` of `concur-combinators`) with a
    /// `remote!` function; the compile error says so.
    ///
    /// # Examples
    ///
    /// ```compile_fail
    /// let pool = concur_process::ProcessPool::new(2).unwrap();
    /// let out = pool.map(|x: u64| x * 2, [1, 2, 3]);
    /// ```
    pub fn map<F: MapOnProcessPool, I>(&self, f: F, _inputs: I) -> F::Output {
        f.refuse()
    }

    /// Does not compile, like [`map`](Self::map): use
    /// `map_task_unordered` with a `remote!` function.
    ///
    /// # Examples
    ///
    /// ```compile_fail
    /// let pool = concur_process::ProcessPool::new(2).unwrap();
    /// let out = pool.map_unordered(|x: u64| x * 2, [1, 2, 3]);
    /// ```
    pub fn map_unordered<F: MapOnProcessPool, I>(&self, f: F, _inputs: I) -> F::Output {
        f.refuse()
    }
}

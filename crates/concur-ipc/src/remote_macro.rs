//! The [`remote!`](crate::remote) macro, which turns plain functions into
//! registered remote functions, and the two traits its expansion uses
//! ([`Borrowed`] parameters, [`RemoteReturn`] results).

use concur_core::BoxError;

/// Makes plain functions callable in another process while they stay
/// plain functions in this one.
///
/// For each `fn name(..) -> R { body }` it generates:
///
/// * a zero-sized `Copy` type `name` (a lowercase empty struct) implementing
///   [`RemoteFn`](concur_core::RemoteFn), and a constant `name` of that
///   type: the value `pool.submit_task(name, args)` and
///   `pool.map_task(name, inputs)` take;
/// * `Deref<Target = fn(..) -> R>` on that type, so `name(a, b)` calls the
///   function directly, in this process, like any function (call
///   expressions dereference their callee). Where a function *value* is
///   needed, write `*name` (it is a `fn(..) -> R` pointer):
///   `iter.map(*name)`. The body exists once: the worker and the direct
///   call run the same code, and the body may call `name` recursively;
/// * an entry in the [`Registry`](crate::Registry) so worker processes find it by name.
///
/// # Arguments and return type
///
/// * One parameter: `Args` is its type; several: a tuple; none: `()`.
/// * Borrowed parameters are decoded into an owned value in the worker and
///   lent to the function: `&str` travels as a `String`, `&[T]` as a
///   `Vec<T>`, `&T` as a `T` (also `&Path` as `PathBuf`, `&OsStr` as
///   `OsString`). So `fn word_count(text: &str)` is called directly as
///   `word_count("hi there")` and submitted as
///   `pool.submit_task(word_count, "hi there".to_string())` (`Args` is
///   owned: a submitted task outlives the caller's borrow).
/// * A return type whose last path segment is `Result` (`Result<T, E>`,
///   `io::Result<T>`, `std::io::Result<T>`, `anyhow::Result<T>`, any alias
///   named `Result`) makes the function fallible: it must be a
///   `std::result::Result<T, E>` with `E: Into<BoxError>`; `Output = T`,
///   and an `Err` fails the future with the task error (kind `Task`, the
///   error's message; downcastable to `E` when run in-process, a
///   [`RemoteError`](crate::RemoteError) naming `E` when run by a worker). Any other return type
///   is the output as is, including an alias named otherwise
///   (`type MyResult<T> = Result<T, MyErr>` is infallible: its whole
///   `Result` is the output; name the alias `Result` or write it out).
/// * Arguments and output must be `Serialize + DeserializeOwned + Send +
///   'static` (after the owned mapping above).
///
/// # Limits (each is a compile error saying what to do instead)
///
/// * No generics, `impl Trait` or `where` clauses: a worker finds the code
///   by name, so each remote function is one concrete function; declare one
///   per type (calling a generic helper).
/// * No patterns in parameters (`(a, b): (u8, u8)`): name the parameter and
///   destructure it in the body.
/// * No `self`, `async fn`, `const fn`, `unsafe fn`, `extern fn`, `&mut`
///   parameters or borrowed return types.
/// * Attributes (doc comments included) apply to the generated type and
///   constant. The value `name` being a constant, a `let` binding with the
///   same name in its scope is read as a constant pattern: do not name a
///   remote function like a local variable you use next to it.
/// * More than about fifty functions in one `remote!` block reach the
///   default macro recursion limit: split the block (or raise
///   `#![recursion_limit]`).
///
/// # Registry naming rules
///
/// * [`RemoteFn::NAME`](concur_core::RemoteFn::NAME) is
///   `module_path!()::name`: a readable path, used in error messages.
/// * The registry id is [`fingerprint`](crate::fingerprint)`(NAME)`.
/// * [`RemoteFn::FINGERPRINT`](concur_core::RemoteFn::FINGERPRINT) hashes
///   the parameter and return types as written *and the declaration site*
///   (`file!():line!():column!()` of the `remote!` invocation). So two
///   `remote!` blocks declaring the same `fn f` with the same signature in two
///   function bodies of one module share a `NAME` and an id, yet have distinct
///   [`FnRef`](crate::FnRef)s, and each call runs its own body.
/// * Moving a declaration in the source (even by one line) changes its
///   fingerprint, hence the [`Registry::fingerprint`](crate::Registry::fingerprint): a pool and its workers
///   must run the same build, which the handshake checks anyway. Never store
///   a [`FnRef`](crate::FnRef) to use with another build.
/// * Two registrations with the same `NAME` *and* `FINGERPRINT` (possible
///   with hand-written [`register!`](crate::register) impls) are refused:
///   calling either fails with
///   [`RemoteErrorKind::DuplicateFunction`](crate::RemoteErrorKind::DuplicateFunction)
///   naming both, and [`Registry::check`](crate::Registry::check) reports it.
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
///
/// concur_ipc::remote! {
///     /// Squares a number.
///     pub fn square(x: u64) -> u64 { x * x }
///
///     fn div(a: u32, b: u32) -> Result<u32, String> {
///         if b == 0 { return Err("division by zero".into()) }
///         Ok(a / b)
///     }
///
///     fn word_count(text: &str) -> std::io::Result<usize> {
///         Ok(text.split_whitespace().count())
///     }
/// }
///
/// // Plain function calls, in this process:
/// assert_eq!(square(7), 49);
/// assert_eq!(div(7, 0), Err("division by zero".to_string()));
/// assert_eq!(word_count("hi there").unwrap(), 2);
/// let squares: Vec<u64> = (1..4).map(*square).collect();
/// assert_eq!(squares, [1, 4, 9]);
///
/// // The `RemoteFn` a worker runs (`Args` owned, `Output` the `Ok` type):
/// assert_eq!(square::call(7).unwrap(), 49);
/// assert_eq!(div::call((7, 0)).unwrap_err().to_string(), "division by zero");
/// assert_eq!(word_count::call("a b c".to_string()).unwrap(), 3);
/// assert_ne!(square::FINGERPRINT, div::FINGERPRINT);
/// ```
///
/// A generic function is refused with a message saying what to do:
///
/// ```compile_fail
/// concur_ipc::remote! {
///     fn first<T: Clone>(items: Vec<T>) -> T { items[0].clone() }
/// }
/// ```
#[macro_export]
macro_rules! remote {
    () => {};
    // Second step, one item: its return type known to be fallible or not,
    // find where it ends; the item is parsed on its own (its depth does not
    // add up over the items of one block).
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt -> $ret:ty where $($r:tt)*) => {
        $crate::__remote_generic_error!($name);
    };
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt -> $ret:ty $body:block $($rest:tt)*) => {
        $crate::__remote_params! { @p [$meta $vis $name $mode [$ret] $body] [] $params }
        $crate::remote! { $($rest)* }
    };
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt where $($r:tt)*) => {
        $crate::__remote_generic_error!($name);
    };
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt $body:block $($rest:tt)*) => {
        $crate::__remote_params! { @p [$meta $vis $name $mode [()] $body] [] $params }
        $crate::remote! { $($rest)* }
    };
    (
        $(#[$meta:meta])* $vis:vis async fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `async`: `", ::core::stringify!($name),
            "`; declare a plain `fn` (a worker runs it on its own thread), or \
             submit the future to an async runtime instead"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis const fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `const fn`: `", ::core::stringify!($name),
            "` is called through a function pointer; remove `const`, or keep a `const fn` \
             outside `remote!` and call it from a remote function"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis unsafe fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `unsafe fn`: a worker calls `", ::core::stringify!($name),
            "` with whatever arguments it is sent; make it safe (check its inputs)"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis extern $($abi:literal)? fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `extern fn`: declare `", ::core::stringify!($name),
            "` as a plain Rust `fn`"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis fn $name:ident < $($rest:tt)*
    ) => {
        $crate::__remote_generic_error!($name);
    };
    // First step, one item: is the return type borrowed, opaque, or a
    // `Result` (last path segment named `Result`, up to four segments)?
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> & $($t:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot return a reference: `", ::core::stringify!($name),
            "`'s result is sent back by value; return an owned type (`String`, `Vec<T>`, `T`)"
        ));
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> impl $($t:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot return `impl Trait`: the caller decodes `",
            ::core::stringify!($name), "`'s result, so name its concrete type"
        ));
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> $a:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> $a :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> $a:ident :: $b:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> $a :: $b :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> $a:ident :: $b:ident :: $c:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> $a :: $b :: $c :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> :: $a:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> :: $a :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> :: $a:ident :: $b:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> :: $a :: $b :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> :: $a:ident :: $b:ident :: $c:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> :: $a :: $b :: $c :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) $($t:tt)*) => {
        $crate::remote! { @split infallible [$(#[$meta])*] [$vis] $name [$($params)*] $($t)* }
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "`remote!` expects plain function items: \
             `remote! { fn name(arg: Type, ..) -> Output { .. } }`"
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __remote_generic_error {
    ($name:ident) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be generic: `",
            ::core::stringify!($name),
            "` must be one concrete function a worker finds by name; declare one remote \
             function per concrete type (each may call a generic helper defined outside \
             `remote!`)"
        ));
    };
}

/// Parses a remote function's parameters one at a time into
/// `{ [mut?] name [type as written] [wire type] [argument expression] }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_params {
    (@p $ctx:tt $done:tt []) => {
        $crate::__remote_emit! { $ctx $done }
    };
    (@p [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt [$(&)? $($lt:lifetime)? $(mut)? self $($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot take `self`: `", ::core::stringify!($name),
            "` is a free function; take the value as a named argument (`value: Type`)"
        ));
    };
    (@p $ctx:tt $done:tt [mut $arg:ident : $($p:tt)*]) => {
        $crate::__remote_params! { @t $ctx $done [mut] $arg [$($p)*] }
    };
    (@p $ctx:tt $done:tt [$arg:ident : $($p:tt)*]) => {
        $crate::__remote_params! { @t $ctx $done [] $arg [$($p)*] }
    };
    (@p [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt [$($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot take patterns as parameters: in `", ::core::stringify!($name),
            "`, name each parameter (`pair: (u8, u8)`) and destructure it in the body \
             (`let (a, b) = pair;`)"
        ));
    };
    (@t [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt $m:tt $arg:ident [& $($lt:lifetime)? mut $($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot take `&mut` arguments: `", ::core::stringify!($arg),
            "` would be changed in the worker's copy only; take it by value and return the \
             new value"
        ));
    };
    (@t [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt $m:tt $arg:ident [$(&)? $($lt:lifetime)? impl $($p:tt)*]) => {
        $crate::__remote_generic_error!($name);
    };
    (@t $ctx:tt $done:tt $m:tt $arg:ident [& $lt:lifetime $t:ty $(, $($p:tt)*)?]) => {
        $crate::__remote_params! { @b $ctx $done $m $arg [& $lt] $t [$($($p)*)?] }
    };
    (@t $ctx:tt $done:tt $m:tt $arg:ident [& $t:ty $(, $($p:tt)*)?]) => {
        $crate::__remote_params! { @b $ctx $done $m $arg [&] $t [$($($p)*)?] }
    };
    (@b $ctx:tt [$($done:tt)*] [$($m:tt)?] $arg:ident [$($amp:tt)*] $t:ty [$($p:tt)*]) => {
        $crate::__remote_params! {
            @p $ctx [$($done)* {
                [$($m)?] $arg [$($amp)* $t]
                [<$t as $crate::__private::Borrowed>::Owned]
                [<$t as $crate::__private::Borrowed>::lend(&$arg)]
            }] [$($p)*]
        }
    };
    (@t $ctx:tt [$($done:tt)*] [$($m:tt)?] $arg:ident [$t:ty $(, $($p:tt)*)?]) => {
        $crate::__remote_params! {
            @p $ctx [$($done)* { [$($m)?] $arg [$t] [$t] [$arg] }] [$($($p)*)?]
        }
    };
}

/// Emits one parsed remote function.
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_emit {
    (
        [[$($meta:tt)*] [$vis:vis] $name:ident $mode:ident [$ret:ty] $body:block]
        [$({ [$($m:tt)?] $arg:ident [$($ty:tt)*] [$($wire:tt)*] [$($lend:tt)*] })*]
    ) => {
        $($meta)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        $vis struct $name {}

        $($meta)*
        #[allow(non_upper_case_globals, dead_code)]
        $vis const $name: $name = $name {};

        impl $name {
            /// The function itself.
            #[doc(hidden)]
            const __REMOTE_FN: fn($($($ty)*),*) -> $ret = {
                #[allow(clippy::unused_unit)]
                fn $name($($($m)? $arg: $($ty)*),*) -> $ret $body
                $name
            };
        }

        impl ::core::ops::Deref for $name {
            type Target = fn($($($ty)*),*) -> $ret;
            #[inline]
            fn deref(&self) -> &Self::Target {
                &Self::__REMOTE_FN
            }
        }

        impl $crate::__private::RemoteFn for $name {
            type Args = $crate::__remote_args!(@ty $([$($wire)*]),*);
            type Output = $crate::__remote_args!(@$mode ok $ret);
            const NAME: &'static str = ::core::concat!(
                ::core::module_path!(), "::", ::core::stringify!($name)
            );
            const FINGERPRINT: u64 = $crate::fingerprint(::core::concat!(
                "fn(", ::core::stringify!($($($ty)*),*), ") -> ", ::core::stringify!($ret),
                " @ ", ::core::file!(), ":", ::core::line!(), ":", ::core::column!()
            ));
            fn call(
                args: Self::Args,
            ) -> ::core::result::Result<Self::Output, $crate::__private::BoxError> {
                #[allow(unused_parens, clippy::let_unit_value)]
                let $crate::__remote_args!(@pat $($arg),*) = args;
                $crate::__remote_args!(@$mode call (Self::__REMOTE_FN)($($($lend)*),*))
            }
        }

        $crate::__private::inventory::submit! {
            $crate::Registration::with_error::<$name, $crate::__remote_args!(@$mode err $ret)>()
                .declared_at(::core::concat!(
                    ::core::file!(), ":", ::core::line!(), ":", ::core::column!()
                ))
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __remote_args {
    (@ty [$($t:tt)*]) => { $($t)* };
    (@ty $([$($t:tt)*]),*) => { ($($($t)*,)*) };
    (@pat $a:ident) => { $a };
    (@pat $($a:ident),*) => { ($($a,)*) };
    (@fallible ok $ret:ty) => { <$ret as $crate::__private::RemoteReturn>::Ok };
    (@infallible ok $ret:ty) => { $ret };
    (@fallible err $ret:ty) => { <$ret as $crate::__private::RemoteReturn>::Err };
    (@infallible err $ret:ty) => { $crate::__private::Infallible };
    (@fallible call $e:expr) => { $crate::__private::RemoteReturn::into_remote($e) };
    (@infallible call $e:expr) => { ::core::result::Result::Ok($e) };
}

/// How a borrowed parameter of a [`remote!`](crate::remote) function
/// travels: decoded as the owned `Owned` in the worker, then lent to the
/// function as `&Self`.
///
/// # Examples
///
/// ```
/// use concur_ipc::__private::Borrowed;
/// let owned: <str as Borrowed>::Owned = String::from("hi");
/// assert_eq!(<str as Borrowed>::lend(&owned), "hi");
/// ```
#[doc(hidden)]
pub trait Borrowed {
    /// The owned type sent over the wire.
    type Owned;
    /// Borrows `Self` from its owned form.
    fn lend(owned: &Self::Owned) -> &Self;
}

impl Borrowed for str {
    type Owned = String;
    fn lend(owned: &String) -> &str {
        owned
    }
}

impl<T> Borrowed for [T] {
    type Owned = Vec<T>;
    fn lend(owned: &Vec<T>) -> &[T] {
        owned
    }
}

impl Borrowed for std::path::Path {
    type Owned = std::path::PathBuf;
    fn lend(owned: &std::path::PathBuf) -> &std::path::Path {
        owned
    }
}

impl Borrowed for std::ffi::OsStr {
    type Owned = std::ffi::OsString;
    fn lend(owned: &std::ffi::OsString) -> &std::ffi::OsStr {
        owned
    }
}

impl<T> Borrowed for T {
    type Owned = T;
    fn lend(owned: &T) -> &T {
        owned
    }
}

/// The return type of a fallible [`remote!`](crate::remote) function: a
/// `std::result::Result` (under any alias) whose error converts into a
/// [`BoxError`].
///
/// # Examples
///
/// ```
/// use concur_ipc::__private::RemoteReturn;
/// let r: std::io::Result<u8> = Ok(3);
/// assert_eq!(RemoteReturn::into_remote(r).unwrap(), 3);
/// ```
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is named `Result` but is not a `std::result::Result` with an error convertible into `BoxError`",
    label = "a remote function returning a type named `Result` is fallible",
    note = "return `std::result::Result<T, E>` (or an alias of it) with `E: Into<BoxError>`: any `std::error::Error + Send + Sync + 'static`, `String`, `&'static str`, `anyhow::Error`"
)]
pub trait RemoteReturn {
    /// The output on success.
    type Ok;
    /// The error type, named in the errors a worker sends back.
    type Err: 'static;
    /// The result with its error boxed.
    ///
    /// # Errors
    ///
    /// The function's own error, boxed.
    fn into_remote(self) -> Result<Self::Ok, BoxError>;
}

impl<T, E: Into<BoxError> + 'static> RemoteReturn for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_remote(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}

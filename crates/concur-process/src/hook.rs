//! The automatic worker guard: a pre-`main` hook that diverts a worker
//! process (a copy of this binary started by a pool, recognised by the
//! token in its environment) into the worker loop or the fork server
//! before `main` runs, so a binary, a `#[test]`, a doctest or an example
//! needs no [`init`](crate::init) call, and nothing in `main` (or in
//! libtest's harness) runs twice.
//!
//! # Design note
//!
//! **How.** On Linux with glibc, `HOOK` is a function pointer placed in
//! the executable's `.init_array` section. glibc calls every entry of that
//! array, in order, with `(argc, argv, envp)`, after the dynamic loader
//! ran the shared libraries' constructors and before `main`. In a process
//! without the token the hook returns at once (one `getenv`). A
//! hand-written entry rather than the `ctor` crate: `ctor` emits the same
//! `.init_array` entry, but without the arguments glibc passes, which the
//! hook has to hand on to the entries it calls itself (below); and the
//! walk needs the address of the entry, which `ctor` does not expose.
//!
//! **Constructor order.** The remote-function registry is built from
//! `inventory` registrations, which are `.init_array` entries too (as are
//! `ctor` functions and std's capture of `argv`, in `.init_array.00099`,
//! which the linker sorts before every plain entry such as ours). The
//! order among plain entries is the link order of the object files, so a
//! crate linked after concur-process has its registrations *after* the
//! hook: diverting at once would leave them out of the worker's registry
//! (its handshake fingerprint would not match, or a call would find no
//! function). So the hook walks the array itself (`__init_array_start` to
//! `__init_array_end`, which GNU ld and lld both define; rustc 1.95 links
//! with lld on x86_64 Linux, `rust-lld` through `cc`), finds its own slot,
//! calls every later entry first, in order and with the same arguments,
//! and only then diverts. It never returns after that, so glibc never
//! calls those entries a second time. If the slot is not found inside the
//! main program's init array (concur-process linked into a shared
//! library, an unusual linker), the hook does not divert: the explicit
//! [`init`](crate::init) still works, and a pool whose copies reach
//! `build` fails at once with the advice to call it (`error::init_hint`
//! names the reason).
//!
//! **Life before `main`.** Rust's `lang_start` has not run, so the hook
//! does what the worker needs of it: `SIGPIPE` is set to ignored (as
//! `lang_start` does, so a task writing to a closed pipe gets `EPIPE`
//! instead of killing its worker; the worker loop's own writes use
//! `MSG_NOSIGNAL` as well). `lang_start` also opens closed descriptors 0-2
//! on `/dev/null`; a worker needs no such step: its stdin is `/dev/null`
//! and its stdout and stderr are the pool's process's, which Rust's
//! runtime already made open. What stays different in a worker: its main thread has no name (`thread::current().name()` is
//! `None`), and std's stack-overflow message handler is not installed (a
//! task that overflows the main thread's stack still kills the worker with
//! `SIGSEGV`, reported as `WorkerDied`). No panic unwinds out of the hook
//! (an `extern "C"` function): one in the worker loop ends the worker with
//! exit code 70.
//!
//! **Staying linked.** The static lives in this crate's rlib; the linker
//! only keeps an archive member that something references, so
//! [`Builder::build`](crate::Builder::build) references it (`keep`).
//! The `.init_array` section itself is kept by both linkers.
//!
//! **Opt-out.** `CONCUR_PROCESS_NO_AUTO_GUARD=1` (any value but `0` or
//! empty) in the environment of the pool's process (its workers inherit
//! it) turns the hook off: the workers then reach `main`, which must call
//! [`init`](crate::init) first. It exists as an escape hatch should the
//! walk ever misbehave with some other library's constructors, and so the
//! explicit path and its error report stay tested.

use std::fmt;

/// The environment variable that turns the automatic worker guard off.
pub(crate) const NO_AUTO_GUARD_ENV: &str = "CONCUR_PROCESS_NO_AUTO_GUARD";

/// Whether the automatic worker guard diverts the copies of this binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// The hook is in the main program's init array and will divert.
    Armed,
    /// [`NO_AUTO_GUARD_ENV`] is set.
    OptedOut,
    /// The hook's entry is not in the main program's init array.
    NotFound,
    /// Not Linux with glibc: no hook at all.
    #[cfg_attr(all(target_os = "linux", target_env = "gnu"), allow(dead_code))]
    Unsupported,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Armed => f.write_str(
                "the copy was not diverted into the worker loop before `main`, although the \
                 automatic worker guard is active in this binary",
            ),
            Self::OptedOut => write!(
                f,
                "the automatic worker guard is turned off ({NO_AUTO_GUARD_ENV} is set)"
            ),
            Self::NotFound => f.write_str(
                "the automatic worker guard (a pre-`main` hook) found no entry of its own in \
                 this executable's init array (is concur-process linked into a shared library?)",
            ),
            Self::Unsupported => f.write_str(
                "the automatic worker guard (a pre-`main` hook) is not available on this \
                 platform (it needs Linux with glibc)",
            ),
        }
    }
}

/// Whether the opt-out variable is set (to anything but `0` or nothing).
fn opted_out() -> bool {
    std::env::var_os(NO_AUTO_GUARD_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) use elf::{keep, state};

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod unsupported {
    /// No hook on this platform: nothing to keep.
    pub(crate) fn keep() {}

    /// Always [`State::Unsupported`](super::State::Unsupported).
    pub(crate) fn state() -> super::State {
        super::State::Unsupported
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) use unsupported::{keep, state};

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod elf {
    use super::State;
    use std::ffi::{c_char, c_int, c_void};

    /// The signature glibc calls `.init_array` entries with.
    type InitFn = unsafe extern "C" fn(c_int, *const *const c_char, *const *const c_char);

    /// The hook's `.init_array` entry (see the module's design note).
    #[used]
    #[unsafe(link_section = ".init_array")]
    pub(crate) static HOOK: InitFn = before_main;

    unsafe extern "C" {
        // Defined by the linker (GNU ld and lld) around the output's
        // `.init_array` section; only their addresses are used.
        static __init_array_start: u8;
        static __init_array_end: u8;
    }

    /// Makes the linker keep `HOOK` (the object that holds it) in every
    /// binary that builds a pool.
    #[inline(never)]
    pub(crate) fn keep() {
        std::hint::black_box(&raw const HOOK);
    }

    /// Whether the hook diverts the copies of this binary.
    pub(crate) fn state() -> State {
        if super::opted_out() {
            State::OptedOut
        } else if later_entries().is_some() {
            State::Armed
        } else {
            State::NotFound
        }
    }

    /// The entries of the main program's init array after ours, or `None`
    /// if ours is not in it.
    fn later_entries() -> Option<&'static [usize]> {
        let start = (&raw const __init_array_start).addr();
        let end = (&raw const __init_array_end).addr();
        let ours = (&raw const HOOK).addr();
        let size = size_of::<InitFn>();
        let inside = start <= ours && ours < end && (ours - start) % size == 0;
        if !inside || start % align_of::<InitFn>() != 0 || !in_main_program(start) {
            return None;
        }
        let after = ours + size;
        // SAFETY: [after, end) lies inside the init array (checked above),
        // whose slots are aligned, pointer-sized and relocated (the loader
        // applied relocations before running any constructor), and are
        // never written again. Read as `usize` so an odd slot (0 or -1, as
        // old `.ctors` sentinels) can be skipped before it is a function.
        Some(unsafe { std::slice::from_raw_parts(after as *const usize, (end - after) / size) })
    }

    /// Whether `addr` lies in a loaded segment of the main program (the
    /// first object `dl_iterate_phdr` reports), not of a shared library.
    fn in_main_program(addr: usize) -> bool {
        unsafe extern "C" fn first(
            info: *mut libc::dl_phdr_info,
            _size: usize,
            data: *mut c_void,
        ) -> c_int {
            // SAFETY: `data` is the `(usize, bool)` passed below; `info`
            // and its program headers are valid for this call (glibc).
            let (addr, found) = unsafe { &mut *data.cast::<(usize, bool)>() };
            // SAFETY: as above.
            let info = unsafe { &*info };
            // SAFETY: glibc passes `dlpi_phnum` headers at `dlpi_phdr`.
            let headers =
                unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
            *found = headers.iter().any(|h| {
                let lo = (info.dlpi_addr as usize).wrapping_add(h.p_vaddr as usize);
                h.p_type == libc::PT_LOAD
                    && (lo..lo.wrapping_add(h.p_memsz as usize)).contains(addr)
            });
            1 // Stop: the first object is the main program.
        }
        let mut data = (addr, false);
        // SAFETY: `first` matches the callback type and only reads what
        // glibc hands it and writes `data`, which outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(first), (&raw mut data).cast()) };
        data.1
    }

    /// The `.init_array` entry: in a worker (token in the environment,
    /// guard armed), runs the constructors linked after this one, then the
    /// worker loop or fork server, and exits; returns at once elsewhere.
    unsafe extern "C" fn before_main(
        argc: c_int,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) {
        // Nothing here may unwind into glibc: the checks cannot panic, and
        // the worker's own code runs under `catch_unwind` in `run`.
        let Some(token) = std::env::var_os(crate::token::WORKER_ENV) else {
            return;
        };
        if super::opted_out() {
            return;
        }
        let Some(later) = later_entries() else {
            return;
        };
        // From here on this never returns, so glibc never runs the later
        // entries again.
        prepare_runtime();
        for &entry in later {
            if entry == 0 || entry == usize::MAX {
                continue;
            }
            // SAFETY: a relocated, non-sentinel `.init_array` slot is a
            // constructor the loader would call next with these very
            // arguments; calling it here, once, in order, is what glibc
            // would have done.
            let f: InitFn = unsafe { std::mem::transmute::<usize, InitFn>(entry) };
            // SAFETY: as above.
            unsafe { f(argc, argv, envp) };
        }
        crate::guard::run(token);
    }

    /// What `lang_start` would have done that a worker relies on: `SIGPIPE`
    /// ignored.
    fn prepare_runtime() {
        // SAFETY: plain signal(2) call, before any thread exists.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    }
}

#[cfg(test)]
mod tests {
    use super::State;

    #[test]
    fn armed_in_this_test_binary() {
        // The unit-test binary links this crate like any other: the hook
        // is in its init array (found there), unless this run opted out.
        let expected = if super::opted_out() {
            State::OptedOut
        } else {
            State::Armed
        };
        assert_eq!(super::state(), expected);
    }

    #[test]
    fn every_state_says_what_it_means() {
        assert!(
            State::OptedOut
                .to_string()
                .contains("CONCUR_PROCESS_NO_AUTO_GUARD")
        );
        assert!(State::Unsupported.to_string().contains("glibc"));
        assert!(State::NotFound.to_string().contains("init array"));
        assert!(State::Armed.to_string().contains("active"));
    }
}

//! The MPI calls this crate makes, through `mpi::ffi`, each checked: rsmpi's
//! safe API ignores return codes (it assumes `MPI_ERRORS_ARE_FATAL`), so
//! the crate sets `MPI_ERRORS_RETURN` on its communicator and turns every
//! non-success code into an [`MpiError`] here. This file holds every
//! `unsafe` block of the crate.

use crate::error::MpiError;
use mpi::ffi;
use std::os::raw::c_int;

/// Turns the return code of `call` into a result.
pub(crate) fn check(call: &'static str, code: c_int) -> Result<(), MpiError> {
    if code == ffi::MPI_SUCCESS as c_int {
        return Ok(());
    }
    Err(MpiError::new(call, code, error_string(code)))
}

/// `len` bytes as an MPI count (an `int`), for `call`.
fn count_of(call: &'static str, len: usize) -> Result<c_int, MpiError> {
    c_int::try_from(len)
        .map_err(|_| MpiError::new(call, -1, format!("{len} bytes do not fit an MPI count")))
}

/// The library's text for an error code (empty if it has none).
fn error_string(code: c_int) -> String {
    // MPI_MAX_ERROR_STRING is 256 in Open MPI and MPICH; 1024 is ample.
    let mut buf = vec![0u8; 1024];
    let mut len: c_int = 0;
    // SAFETY: `buf` has room for MPI_MAX_ERROR_STRING bytes and `len` is a
    // valid out-pointer; MPI_Error_string may be called at any time.
    let rc = unsafe { ffi::MPI_Error_string(code, buf.as_mut_ptr().cast(), &mut len) };
    if rc != 0 || len <= 0 {
        return String::new();
    }
    buf.truncate(usize::try_from(len).unwrap_or(0).min(1024));
    String::from_utf8_lossy(&buf).into_owned()
}

/// Sets the environment variable `name` to `value` unless it is set (for
/// the MPI library's settings, read at `MPI_Init`), but only while this
/// process has one thread: setting the environment races any other
/// thread's read of it. Returns whether `name` now holds a value.
pub(crate) fn env_default(name: &str, value: &str) -> bool {
    if std::env::var_os(name).is_some() {
        return true;
    }
    // Only this thread could start another, and it is here.
    let single = std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1);
    if !single {
        return false;
    }
    // SAFETY: the process has exactly one thread (checked just above), so
    // nothing reads or writes the environment concurrently.
    unsafe { std::env::set_var(name, value) };
    true
}

/// `MPI_Init_thread` asking for thread level `wanted`; returns the level
/// granted.
pub(crate) fn init_thread(wanted: c_int) -> Result<c_int, MpiError> {
    let mut initialized: c_int = 0;
    // SAFETY: `MPI_Initialized` may be called before `MPI_Init`.
    check("MPI_Initialized", unsafe {
        ffi::MPI_Initialized(&mut initialized)
    })?;
    if initialized != 0 {
        return Err(MpiError::new(
            "MPI_Init_thread",
            -1,
            "MPI was already initialised in this process (call concur_mpi::init() once, \
             before anything else initialises MPI)"
                .into(),
        ));
    }
    let mut provided: c_int = 0;
    // SAFETY: null argc/argv are allowed by the standard; `provided` is a
    // valid out-pointer; MPI is not initialised yet (checked above).
    let rc = unsafe {
        ffi::MPI_Init_thread(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            wanted,
            &mut provided,
        )
    };
    check("MPI_Init_thread", rc)?;
    Ok(provided)
}

/// The `MPI_THREAD_MULTIPLE` level constant.
pub(crate) fn thread_multiple() -> c_int {
    // SAFETY: reading an immutable extern constant.
    unsafe { ffi::RSMPI_THREAD_MULTIPLE }
}

/// The `MPI_THREAD_SERIALIZED` level constant.
pub(crate) fn thread_serialized() -> c_int {
    // SAFETY: reading an immutable extern constant.
    unsafe { ffi::RSMPI_THREAD_SERIALIZED }
}

/// Ends the process at once with `code` (`_exit`: no atexit handlers, no
/// MPI finalize, no flushing of Rust's buffers).
pub(crate) fn exit_now(code: c_int) -> ! {
    // SAFETY: `_exit` may be called at any time from any thread.
    unsafe { libc::_exit(code) }
}

/// `MPI_Get_processor_name`: the host this rank runs on, as MPI names it.
pub(crate) fn processor_name() -> Result<String, MpiError> {
    // MPI_MAX_PROCESSOR_NAME is 256 in Open MPI and MPICH; 1024 is ample.
    let mut buf = vec![0u8; 1024];
    let mut len: c_int = 0;
    // SAFETY: `buf` has room for MPI_MAX_PROCESSOR_NAME bytes and `len` is
    // a valid out-pointer; MPI is initialised.
    check("MPI_Get_processor_name", unsafe {
        ffi::MPI_Get_processor_name(buf.as_mut_ptr().cast(), &mut len)
    })?;
    buf.truncate(usize::try_from(len).unwrap_or(0).min(1024));
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `MPI_Finalize`.
pub(crate) fn finalize() -> Result<(), MpiError> {
    // SAFETY: called once, by the thread that initialised MPI, after the
    // crate's manager threads stopped (see `World`'s `Drop`).
    check("MPI_Finalize", unsafe { ffi::MPI_Finalize() })
}

/// A communicator handle.
///
/// `MPI_Comm` is a raw pointer in Open MPI, hence not `Send`; this crate
/// uses the handle from several threads only after `MPI_THREAD_MULTIPLE`
/// was granted (checked in [`Comm::world_dup`]'s callers and by the pool's
/// `build`), under which the standard allows any thread to use it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Comm(ffi::MPI_Comm);

// SAFETY: under MPI_THREAD_MULTIPLE (required before a `Comm` is shared,
// see the type's docs) MPI handles may be used from any thread; the handle
// is an immutable pointer-sized value, freed only by `MPI_Finalize`.
unsafe impl Send for Comm {}
// SAFETY: as for `Send`: concurrent calls on one communicator are allowed
// under MPI_THREAD_MULTIPLE.
unsafe impl Sync for Comm {}

/// A message taken off the queue by a matched probe.
pub(crate) struct Probed {
    message: ffi::MPI_Message,
    /// The sender's rank.
    pub(crate) source: c_int,
    /// The message's tag.
    pub(crate) tag: c_int,
    /// Its length in bytes.
    pub(crate) len: usize,
}

impl Comm {
    /// A private duplicate of `MPI_COMM_WORLD` with `MPI_ERRORS_RETURN`
    /// set. Collective: every rank calls it at the same point.
    pub(crate) fn world_dup() -> Result<Self, MpiError> {
        // SAFETY: the uninitialised handle is an out-parameter only.
        let mut comm: ffi::MPI_Comm = unsafe { std::mem::zeroed() };
        // SAFETY: MPI is initialised; `RSMPI_COMM_WORLD` is a valid
        // communicator; `comm` is a valid out-pointer.
        check("MPI_Comm_dup", unsafe {
            ffi::MPI_Comm_dup(ffi::RSMPI_COMM_WORLD, &mut comm)
        })?;
        // SAFETY: `comm` was just created; `RSMPI_ERRORS_RETURN` is a
        // predefined error handler.
        check("MPI_Comm_set_errhandler", unsafe {
            ffi::MPI_Comm_set_errhandler(comm, ffi::RSMPI_ERRORS_RETURN)
        })?;
        Ok(Self(comm))
    }

    /// This process's rank.
    pub(crate) fn rank(self) -> Result<c_int, MpiError> {
        let mut rank = 0;
        // SAFETY: valid communicator, valid out-pointer.
        check("MPI_Comm_rank", unsafe {
            ffi::MPI_Comm_rank(self.0, &mut rank)
        })?;
        Ok(rank)
    }

    /// The number of ranks.
    pub(crate) fn size(self) -> Result<c_int, MpiError> {
        let mut size = 0;
        // SAFETY: valid communicator, valid out-pointer.
        check("MPI_Comm_size", unsafe {
            ffi::MPI_Comm_size(self.0, &mut size)
        })?;
        Ok(size)
    }

    /// `MPI_Bcast` of `buf` (the same length on every rank) from `root`.
    /// Collective: every rank calls it at the same point.
    pub(crate) fn bcast(self, buf: &mut [u8], root: c_int) -> Result<(), MpiError> {
        let count = count_of("MPI_Bcast", buf.len())?;
        // SAFETY: `buf` is valid for `count` writable bytes for the call's
        // duration (a blocking collective); the datatype is the predefined
        // uint8; the communicator is valid.
        check("MPI_Bcast", unsafe {
            ffi::MPI_Bcast(
                buf.as_mut_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                root,
                self.0,
            )
        })
    }

    /// `MPI_Send` of `bytes` to `dest` with `tag`.
    pub(crate) fn send(self, bytes: &[u8], dest: c_int, tag: c_int) -> Result<(), MpiError> {
        let count = count_of("MPI_Send", bytes.len())?;
        // SAFETY: `bytes` is valid for `count` bytes for the call's
        // duration (a blocking send); the datatype is the predefined
        // uint8; the communicator is valid.
        check("MPI_Send", unsafe {
            ffi::MPI_Send(
                bytes.as_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                dest,
                tag,
                self.0,
            )
        })
    }

    /// `MPI_Isend` of `bytes` to `dest` with `tag`. The returned send owns
    /// `bytes` until it completes ([`Sending::test`]) or is abandoned
    /// ([`Sending::abandon`]).
    pub(crate) fn isend(
        self,
        bytes: Vec<u8>,
        dest: c_int,
        tag: c_int,
    ) -> Result<Sending, MpiError> {
        let count = count_of("MPI_Isend", bytes.len())?;
        // SAFETY: out-parameter only.
        let mut request: ffi::MPI_Request = unsafe { std::mem::zeroed() };
        // SAFETY: `bytes` is moved into the returned `Sending`, which keeps
        // it (never moving its heap buffer) until the request completed,
        // or leaks it when the send is abandoned; the datatype is
        // predefined; the communicator is valid.
        check("MPI_Isend", unsafe {
            ffi::MPI_Isend(
                bytes.as_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                dest,
                tag,
                self.0,
                &mut request,
            )
        })?;
        Ok(Sending {
            request,
            bytes,
            done: false,
        })
    }

    fn probed(message: ffi::MPI_Message, status: &ffi::MPI_Status) -> Result<Probed, MpiError> {
        let mut count: c_int = 0;
        // SAFETY: `status` was filled by a successful probe; the datatype is
        // predefined; `count` is a valid out-pointer.
        check("MPI_Get_count", unsafe {
            ffi::MPI_Get_count(status, ffi::RSMPI_UINT8_T, &mut count)
        })?;
        Ok(Probed {
            message,
            source: status.MPI_SOURCE,
            tag: status.MPI_TAG,
            len: usize::try_from(count).unwrap_or(0),
        })
    }

    /// Blocks in `MPI_Mprobe` for a message from anyone, any tag.
    pub(crate) fn mprobe_any(self) -> Result<Probed, MpiError> {
        // SAFETY: out-parameters only, written by the call.
        let mut message: ffi::MPI_Message = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut status: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        // SAFETY: valid communicator; the wildcards are the predefined
        // constants; the out-pointers are valid.
        check("MPI_Mprobe", unsafe {
            ffi::MPI_Mprobe(
                ffi::RSMPI_ANY_SOURCE,
                ffi::RSMPI_ANY_TAG,
                self.0,
                &mut message,
                &mut status,
            )
        })?;
        Self::probed(message, &status)
    }

    /// `MPI_Improbe` for a message from anyone, any tag: `None` if none is
    /// waiting.
    pub(crate) fn improbe_any(self) -> Result<Option<Probed>, MpiError> {
        // SAFETY: reading immutable extern constants.
        let (source, tag) = unsafe { (ffi::RSMPI_ANY_SOURCE, ffi::RSMPI_ANY_TAG) };
        self.improbe(source, tag)
    }

    /// `MPI_Improbe` for a message from `source` with `tag`: `None` if
    /// none is waiting.
    pub(crate) fn improbe(self, source: c_int, tag: c_int) -> Result<Option<Probed>, MpiError> {
        let mut flag: c_int = 0;
        // SAFETY: out-parameters only, written by the call.
        let mut message: ffi::MPI_Message = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut status: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        // SAFETY: valid communicator and out-pointers.
        check("MPI_Improbe", unsafe {
            ffi::MPI_Improbe(source, tag, self.0, &mut flag, &mut message, &mut status)
        })?;
        if flag == 0 {
            return Ok(None);
        }
        Self::probed(message, &status).map(Some)
    }
}

/// `MPI_ERRORS_RETURN` on `MPI_COMM_SELF`, the communicator a spawn goes
/// through (its default handler aborts the process when a spawn fails).
pub(crate) fn self_errors_return() -> Result<(), MpiError> {
    // SAFETY: MPI is initialised; both handles are predefined.
    check("MPI_Comm_set_errhandler", unsafe {
        ffi::MPI_Comm_set_errhandler(ffi::RSMPI_COMM_SELF, ffi::RSMPI_ERRORS_RETURN)
    })
}

/// `MPI_Comm_get_parent`: the inter-communicator to the process that
/// spawned this one, or `None` if nobody did.
pub(crate) fn parent() -> Result<Option<Comm>, MpiError> {
    // SAFETY: out-parameter only.
    let mut comm: ffi::MPI_Comm = unsafe { std::mem::zeroed() };
    // SAFETY: MPI is initialised; `comm` is a valid out-pointer.
    check("MPI_Comm_get_parent", unsafe {
        ffi::MPI_Comm_get_parent(&mut comm)
    })?;
    // SAFETY: reading an immutable extern constant.
    if comm == unsafe { ffi::RSMPI_COMM_NULL } {
        return Ok(None);
    }
    Ok(Some(Comm(comm)))
}

/// An `MPI_Info` built from `(key, value)` pairs, freed on drop.
struct Info(ffi::MPI_Info);

impl Info {
    fn new(pairs: &[(&str, &str)]) -> Result<Self, MpiError> {
        // SAFETY: out-parameter only.
        let mut info: ffi::MPI_Info = unsafe { std::mem::zeroed() };
        // SAFETY: MPI is initialised; valid out-pointer.
        check("MPI_Info_create", unsafe {
            ffi::MPI_Info_create(&mut info)
        })?;
        let info = Self(info);
        for (key, value) in pairs {
            let (key, value) = (cstring(key)?, cstring(value)?);
            // SAFETY: `info` is a valid info object; both strings are
            // NUL-terminated and outlive the call (which copies them).
            check("MPI_Info_set", unsafe {
                ffi::MPI_Info_set(info.0, key.as_ptr(), value.as_ptr())
            })?;
        }
        Ok(info)
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        // SAFETY: created by `MPI_Info_create`, freed once.
        let _ = unsafe { ffi::MPI_Info_free(&mut self.0) };
    }
}

fn cstring(s: &str) -> Result<std::ffi::CString, MpiError> {
    std::ffi::CString::new(s).map_err(|_| {
        MpiError::new(
            "MPI_Comm_spawn",
            -1,
            format!("{s:?} contains a NUL byte, which MPI cannot pass"),
        )
    })
}

/// `MPI_Comm_spawn` of `n` processes running `program` with `args` (the
/// info keys as given), from this process alone (`MPI_COMM_SELF`).
/// Returns the inter-communicator to the children, with
/// `MPI_ERRORS_RETURN` set.
pub(crate) fn spawn(
    program: &str,
    args: &[String],
    n: c_int,
    info: &[(&str, &str)],
) -> Result<Comm, MpiError> {
    let command = cstring(program)?;
    let args: Vec<std::ffi::CString> = args.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
    let mut argv: Vec<*mut std::os::raw::c_char> =
        args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    let info = Info::new(info)?;
    let mut errcodes = vec![0 as c_int; usize::try_from(n).unwrap_or(0)];
    // SAFETY: out-parameter only.
    let mut inter: ffi::MPI_Comm = unsafe { std::mem::zeroed() };
    // SAFETY: `command` and every `argv` entry are NUL-terminated and
    // live across the call, and `argv` ends with a null pointer (MPI
    // reads, never writes, them); `errcodes` has room for `n` codes;
    // COMM_SELF's handler returns errors (`self_errors_return`).
    let rc = unsafe {
        ffi::MPI_Comm_spawn(
            command.as_ptr(),
            argv.as_mut_ptr(),
            n,
            info.0,
            0,
            ffi::RSMPI_COMM_SELF,
            &mut inter,
            errcodes.as_mut_ptr(),
        )
    };
    check("MPI_Comm_spawn", rc)?;
    if let Some(code) = errcodes.iter().find(|c| **c != ffi::MPI_SUCCESS as c_int) {
        return Err(MpiError::new("MPI_Comm_spawn", *code, error_string(*code)));
    }
    // SAFETY: `inter` was just created by the spawn.
    check("MPI_Comm_set_errhandler", unsafe {
        ffi::MPI_Comm_set_errhandler(inter, ffi::RSMPI_ERRORS_RETURN)
    })?;
    Ok(Comm(inter))
}

impl Comm {
    /// `MPI_Intercomm_merge` of this inter-communicator: the group passing
    /// `high = false` (the parent) takes the low ranks. The result has
    /// `MPI_ERRORS_RETURN` set. Collective over both groups.
    pub(crate) fn merge(self, high: bool) -> Result<Comm, MpiError> {
        // SAFETY: out-parameter only.
        let mut merged: ffi::MPI_Comm = unsafe { std::mem::zeroed() };
        // SAFETY: `self` is an inter-communicator; valid out-pointer.
        check("MPI_Intercomm_merge", unsafe {
            ffi::MPI_Intercomm_merge(self.0, c_int::from(high), &mut merged)
        })?;
        // SAFETY: `merged` was just created.
        check("MPI_Comm_set_errhandler", unsafe {
            ffi::MPI_Comm_set_errhandler(merged, ffi::RSMPI_ERRORS_RETURN)
        })?;
        Ok(Comm(merged))
    }

    /// `MPI_Comm_free`: the handle must not be used afterwards (every
    /// thread that used it has stopped).
    pub(crate) fn free(mut self) -> Result<(), MpiError> {
        // SAFETY: a communicator this crate created, freed once (`self`
        // is consumed; the callers hold no other copy in use).
        check("MPI_Comm_free", unsafe { ffi::MPI_Comm_free(&mut self.0) })
    }

    /// `MPI_Comm_disconnect` of the inter-communicator to a spawned group
    /// (or to the parent): waits until the other side disconnects too.
    pub(crate) fn disconnect(mut self) -> Result<(), MpiError> {
        // SAFETY: as for `free`.
        check("MPI_Comm_disconnect", unsafe {
            ffi::MPI_Comm_disconnect(&mut self.0)
        })
    }
}

/// A send in flight (`MPI_Isend`), owning its bytes.
pub(crate) struct Sending {
    request: ffi::MPI_Request,
    bytes: Vec<u8>,
    done: bool,
}

impl Sending {
    /// `MPI_Test`: whether the send completed.
    pub(crate) fn test(&mut self) -> Result<bool, MpiError> {
        if self.done {
            return Ok(true);
        }
        let mut flag: c_int = 0;
        // SAFETY: out-parameter only.
        let mut status: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        // SAFETY: `request` came from `MPI_Isend` and has not completed (a
        // completed one is not tested again: `done`).
        check("MPI_Test", unsafe {
            ffi::MPI_Test(&mut self.request, &mut flag, &mut status)
        })?;
        self.done = flag != 0;
        Ok(self.done)
    }

    /// Gives the send up (its receiver died): `MPI_Cancel`, then
    /// `MPI_Request_free`. MPI may still read the bytes afterwards (a
    /// cancel need not succeed, and a freed request completes in the
    /// background, or never), so they are leaked: one frame per rank
    /// that died with a send to it in flight.
    pub(crate) fn abandon(mut self) {
        if self.done {
            return;
        }
        // SAFETY: `request` is an active send request of this process.
        let _ = unsafe { ffi::MPI_Cancel(&mut self.request) };
        // SAFETY: as above; freeing an active request is allowed.
        let _ = unsafe { ffi::MPI_Request_free(&mut self.request) };
        std::mem::forget(std::mem::take(&mut self.bytes));
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        if !self.done && !self.bytes.is_empty() {
            // Dropped in flight (an error unwound past it): the bytes must
            // outlive MPI's reads.
            std::mem::forget(std::mem::take(&mut self.bytes));
        }
    }
}

impl Probed {
    /// Takes the probed message off the queue and drops its bytes (one
    /// too large to accept). It is received whole, into a buffer freed at
    /// once: a truncating receive (a smaller count, whose
    /// `MPI_ERR_TRUNCATE` would be the expected outcome) is not memory
    /// safe in Open MPI 4.1.4, which wrote every byte of a message over
    /// 4 KiB past the end of the receive buffer (measured here; it smashed
    /// the stack).
    pub(crate) fn discard(self) -> Result<(), MpiError> {
        let mut scratch = Vec::new();
        self.recv(&mut scratch)
    }

    /// `MPI_Mrecv` of the probed message into `buf` (resized to fit).
    pub(crate) fn recv(mut self, buf: &mut Vec<u8>) -> Result<(), MpiError> {
        buf.clear();
        buf.resize(self.len, 0);
        let count = c_int::try_from(self.len).unwrap_or(c_int::MAX);
        // SAFETY: out-parameter only.
        let mut status: ffi::MPI_Status = unsafe { std::mem::zeroed() };
        // SAFETY: `buf` holds `count` bytes; the message handle came from a
        // matched probe and is received exactly once (`self` is consumed).
        check("MPI_Mrecv", unsafe {
            ffi::MPI_Mrecv(
                buf.as_mut_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                &mut self.message,
                &mut status,
            )
        })
    }
}

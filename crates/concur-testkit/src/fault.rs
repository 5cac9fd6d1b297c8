//! Faults provoked for real inside a worker: a true invalid memory access
//! and a SIGKILL of the calling process.

/// Reads a page mapped without any permission: a real SIGSEGV (not a
/// raised one, which an MPI library's handler may return from). std's
/// handler only handles stack-guard faults and re-raises others, so the
/// process dies of the signal.
///
/// # Panics
///
/// If the page cannot be mapped.
///
/// # Examples
///
/// ```no_run
/// // no_run: the process dies of SIGSEGV.
/// concur_testkit::fault::segfault();
/// ```
pub fn segfault() {
    // SAFETY: mmap with valid arguments; the volatile read of the
    // PROT_NONE page faults on purpose (the kernel stops the access; no
    // memory is read or written).
    unsafe {
        let page = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(page, libc::MAP_FAILED);
        std::ptr::read_volatile(page.cast::<u8>());
    }
}

/// SIGKILLs the calling process.
///
/// # Examples
///
/// ```no_run
/// // no_run: the process dies.
/// concur_testkit::fault::kill_self();
/// ```
pub fn kill_self() {
    // SAFETY: raise(3) has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGKILL);
    }
}

//! Memory advice for large buffers.

/// Asks the kernel to back `v`'s allocation (its whole capacity) with
/// transparent huge pages when it is large (at least 8 MiB; Linux, in the
/// `madvise` THP mode these machines run): whoever writes it first then
/// takes one page fault per 2 MiB instead of one per 4 KiB. On these VMs a
/// fresh 100 MB buffer costs ~50-70 ms in page faults with 4 KiB pages
/// (0.16× `memcpy`), most of the time of a large collect or frame. Call it
/// before the pages are touched (right after reserving). Advice only:
/// errors are ignored (no THP, another kernel), and the contents never
/// change.
///
/// # Examples
///
/// ```
/// let mut v: Vec<u8> = Vec::with_capacity(16 << 20);
/// concur_sync::mem::huge_pages(&mut v);
/// v.resize(16 << 20, 1);
/// assert!(v.iter().all(|&b| b == 1));
/// ```
pub fn huge_pages<T>(v: &mut Vec<T>) {
    #[cfg(all(target_os = "linux", not(concur_loom)))]
    {
        const HUGE: usize = 2 << 20;
        let ptr = v.as_mut_ptr() as usize;
        let bytes = v.capacity().saturating_mul(size_of::<T>());
        if bytes < 4 * HUGE {
            return;
        }
        let start = ptr.next_multiple_of(HUGE);
        let end = ptr.saturating_add(bytes) / HUGE * HUGE;
        if end > start {
            // SAFETY: advice on whole pages inside `v`'s own allocation;
            // MADV_HUGEPAGE changes no contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", not(concur_loom))))]
    let _ = v;
}

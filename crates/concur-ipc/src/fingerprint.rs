//! [`fingerprint`]: the FNV-1a hash behind registry ids, signature
//! fingerprints and the registry fingerprint.

/// 64-bit FNV-1a of `s`, usable in constants: the hash behind registry ids
/// and signature fingerprints (stable across builds and platforms).
///
/// # Examples
///
/// ```
/// const H: u64 = concur_ipc::fingerprint("u64 -> u64");
/// assert_eq!(H, concur_ipc::fingerprint("u64 -> u64"));
/// assert_ne!(H, concur_ipc::fingerprint("u32 -> u64"));
/// ```
#[must_use]
pub const fn fingerprint(s: &str) -> u64 {
    fnv_extend(0xcbf2_9ce4_8422_2325, s.as_bytes())
}

/// Continues an FNV-1a `hash` over `bytes`.
pub(crate) const fn fnv_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

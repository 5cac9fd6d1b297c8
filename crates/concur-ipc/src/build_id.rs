//! [`build_id`]: which build of the program this process runs, so that a
//! worker from another build is refused at the handshake even when its
//! remote functions have the same names and signatures (a changed body).
//!
//! The identity is the linker's GNU build-id note (`.note.gnu.build-id`,
//! which the toolchains on Linux add by default: a hash of the linked
//! output), read from this process's executable; without one, a hash of
//! the executable's bytes. Read once, on first use.

use crate::fingerprint::fnv_extend;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::OnceLock;

/// FNV-1a's offset basis.
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
/// The ELF note type of a GNU build-id.
const NT_GNU_BUILD_ID: u32 = 3;
/// The ELF program header type of a note segment.
const PT_NOTE: u32 = 4;
/// The most program headers, and the largest note segment, read (sane ELF
/// files have a handful of headers and notes of a few hundred bytes).
const MAX_PHDRS: u64 = 1024;
const MAX_NOTES: u64 = 1 << 16;

/// This build's identity: a 64-bit hash of the executable's GNU build-id
/// (or, without one, of its bytes); `0` if the executable cannot be read,
/// which the handshake treats as unknown (not checked).
///
/// # Examples
///
/// ```
/// let id = concur_ipc::build_id();
/// assert_eq!(id, concur_ipc::build_id()); // read once, then cached
/// ```
#[must_use]
pub fn build_id() -> u64 {
    static ID: OnceLock<u64> = OnceLock::new();
    *ID.get_or_init(|| {
        let Ok(mut exe) = std::fs::File::open("/proc/self/exe")
            .or_else(|_| std::env::current_exe().and_then(std::fs::File::open))
        else {
            return 0;
        };
        identity(&mut exe).unwrap_or(0)
    })
}

/// The identity of the executable `file`: its build-id note's hash, else
/// the hash of all of it.
pub(crate) fn identity(file: &mut (impl Read + Seek)) -> io::Result<u64> {
    if let Some(note) = gnu_build_id(file)? {
        return Ok(nonzero(fnv_extend(FNV_START, &note)));
    }
    file.seek(SeekFrom::Start(0))?;
    let mut hash = FNV_START;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(nonzero(hash));
        }
        hash = fnv_extend(hash, &buf[..n]);
    }
}

/// 0 means "unknown": a real hash of 0 becomes 1.
fn nonzero(h: u64) -> u64 {
    h.max(1)
}

/// Reads `N` bytes at `offset`.
fn read_at<const N: usize>(file: &mut (impl Read + Seek), offset: u64) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut b)?;
    Ok(b)
}

/// The GNU build-id note's bytes of a 64- or 32-bit little- or big-endian
/// ELF file, `None` if it has none (or is not ELF). Every offset and size
/// is bounds-checked: hostile bytes give `None` or an error, never a
/// panic or a huge allocation.
pub(crate) fn gnu_build_id(file: &mut (impl Read + Seek)) -> io::Result<Option<Vec<u8>>> {
    let ident: [u8; 16] = match read_at(file, 0) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    if ident[..4] != *b"\x7fELF" {
        return Ok(None);
    }
    let wide = match ident[4] {
        1 => false,
        2 => true,
        _ => return Ok(None),
    };
    let big = match ident[5] {
        1 => false,
        2 => true,
        _ => return Ok(None),
    };
    let u16_of = |b: [u8; 2]| {
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_of = |b: [u8; 4]| {
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let u64_of = |b: [u8; 8]| {
        if big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    };
    // e_phoff, e_phentsize, e_phnum.
    let (phoff, phentsize, phnum) = if wide {
        (
            u64_of(read_at(file, 0x20)?),
            u16_of(read_at(file, 0x36)?),
            u16_of(read_at(file, 0x38)?),
        )
    } else {
        (
            u64::from(u32_of(read_at(file, 0x1c)?)),
            u16_of(read_at(file, 0x2a)?),
            u16_of(read_at(file, 0x2c)?),
        )
    };
    let min_entry = if wide { 56 } else { 32 };
    if u64::from(phnum) > MAX_PHDRS || phentsize < min_entry {
        return Ok(None);
    }
    for i in 0..u64::from(phnum) {
        let Some(at) = u64::from(phentsize)
            .checked_mul(i)
            .and_then(|o| o.checked_add(phoff))
        else {
            return Ok(None);
        };
        if u32_of(read_at(file, at)?) != PT_NOTE {
            continue;
        }
        // p_offset and p_filesz of the note segment.
        let (offset, size) = if wide {
            (
                u64_of(read_at(file, at + 8)?),
                u64_of(read_at(file, at + 32)?),
            )
        } else {
            (
                u64::from(u32_of(read_at(file, at + 4)?)),
                u64::from(u32_of(read_at(file, at + 16)?)),
            )
        };
        if size > MAX_NOTES {
            continue;
        }
        let mut notes = vec![0u8; usize::try_from(size).unwrap_or(0)];
        file.seek(SeekFrom::Start(offset))?;
        if file.read_exact(&mut notes).is_err() {
            continue;
        }
        if let Some(id) = find_note(&notes, big) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The descriptor of the `GNU` note of type `NT_GNU_BUILD_ID` in a note
/// segment's bytes (entries: namesz, descsz, type, name and descriptor,
/// each padded to 4 bytes).
fn find_note(mut notes: &[u8], big: bool) -> Option<Vec<u8>> {
    let word = |b: &[u8]| -> Option<usize> {
        let b: [u8; 4] = b.get(..4)?.try_into().ok()?;
        let v = if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        usize::try_from(v).ok()
    };
    let pad = |n: usize| n.checked_add(3).map(|n| n & !3);
    while notes.len() >= 12 {
        let namesz = word(notes)?;
        let descsz = word(&notes[4..])?;
        let kind = word(&notes[8..])?;
        let name_end = 12usize.checked_add(pad(namesz)?)?;
        let desc_end = name_end.checked_add(pad(descsz)?)?;
        let name = notes.get(12..12 + namesz)?;
        let desc = notes.get(name_end..name_end.checked_add(descsz)?)?;
        if kind == NT_GNU_BUILD_ID as usize && name == b"GNU\0" && !desc.is_empty() {
            return Some(desc.to_vec());
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A minimal 64-bit little-endian ELF with one PT_NOTE segment holding
    /// `notes`.
    fn elf(notes: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 64 + 56];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 64;
        f[ph..ph + 4].copy_from_slice(&PT_NOTE.to_le_bytes());
        f[ph + 8..ph + 16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        f[ph + 32..ph + 40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        f.extend_from_slice(notes);
        f
    }

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend_from_slice(&(name.len() as u32).to_le_bytes());
        n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        n.extend_from_slice(&kind.to_le_bytes());
        n.extend_from_slice(name);
        n.resize(n.len().next_multiple_of(4), 0);
        n.extend_from_slice(desc);
        n.resize(n.len().next_multiple_of(4), 0);
        n
    }

    #[test]
    fn finds_the_build_id_after_other_notes() {
        let mut notes = note(b"GNU\0", 1, &[0; 16]); // an ABI tag first
        notes.extend(note(b"GNU\0", NT_GNU_BUILD_ID, &[0xab; 20]));
        let id = gnu_build_id(&mut Cursor::new(elf(&notes))).unwrap();
        assert_eq!(id, Some(vec![0xab; 20]));
    }

    #[test]
    fn different_ids_give_different_identities() {
        let a = elf(&note(b"GNU\0", NT_GNU_BUILD_ID, &[1; 20]));
        let b = elf(&note(b"GNU\0", NT_GNU_BUILD_ID, &[2; 20]));
        let ia = identity(&mut Cursor::new(a)).unwrap();
        let ib = identity(&mut Cursor::new(b)).unwrap();
        assert_ne!(ia, ib);
        assert_ne!(ia, 0);
    }

    #[test]
    fn without_a_note_the_bytes_are_hashed() {
        let a = elf(&note(b"XYZ\0", NT_GNU_BUILD_ID, &[1; 20]));
        assert_eq!(gnu_build_id(&mut Cursor::new(a.clone())).unwrap(), None);
        let mut b = a.clone();
        *b.last_mut().unwrap() ^= 1;
        let (ia, ib) = (
            identity(&mut Cursor::new(a)).unwrap(),
            identity(&mut Cursor::new(b)).unwrap(),
        );
        assert_ne!(ia, ib);
        assert!(ia != 0 && ib != 0);
        // Not ELF at all: hashed too.
        assert_ne!(
            identity(&mut Cursor::new(b"#!/bin/sh\n".to_vec())).unwrap(),
            0
        );
        assert_ne!(identity(&mut Cursor::new(Vec::new())).unwrap(), 0);
    }

    #[test]
    fn hostile_headers_never_panic() {
        let good = elf(&note(b"GNU\0", NT_GNU_BUILD_ID, &[9; 20]));
        // Every truncation, and every byte of the headers set to extremes.
        for len in 0..good.len() {
            let _ = gnu_build_id(&mut Cursor::new(good[..len].to_vec()));
        }
        for at in 0..good.len() {
            for v in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[at] = v;
                let _ = gnu_build_id(&mut Cursor::new(bad.clone()));
                let _ = identity(&mut Cursor::new(bad));
            }
        }
        // Note sizes that overflow or point past the end.
        for (namesz, descsz) in [
            (u32::MAX, 0),
            (0, u32::MAX),
            (u32::MAX - 2, 4),
            (4, 1 << 20),
        ] {
            let mut n = Vec::new();
            n.extend_from_slice(&namesz.to_le_bytes());
            n.extend_from_slice(&descsz.to_le_bytes());
            n.extend_from_slice(&NT_GNU_BUILD_ID.to_le_bytes());
            n.extend_from_slice(b"GNU\0");
            assert_eq!(find_note(&n, false), None);
        }
    }

    #[test]
    fn this_test_binary_has_an_identity() {
        assert_ne!(build_id(), 0);
        // The note read here is the one binutils sees (where it is
        // installed and the linker wrote one).
        let exe = std::env::current_exe().unwrap();
        let Ok(out) = std::process::Command::new("readelf")
            .arg("-n")
            .arg(&exe)
            .output()
        else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(hex) = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Build ID: "))
        else {
            return;
        };
        let mine = gnu_build_id(&mut std::fs::File::open(&exe).unwrap())
            .unwrap()
            .unwrap();
        let mine: String = mine.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(mine, hex.trim());
    }
}

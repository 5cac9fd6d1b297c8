//! Feeds a million random and mutated frame streams through [`FrameReader`]
//! (and a share of them through [`read_frame`]) with random limits, in random
//! read sizes, with `WouldBlock` and `Interrupted` between reads, and checks
//! against a reference parser of the whole stream:
//!
//! * never a panic, and the same frames and the same ending (clean, truncated
//!   or an oversize prefix) as the reference; for unmutated streams, exactly
//!   the frames that were encoded;
//! * every allocation and reallocation made while the reader runs is at most
//!   `limit + PREFIX_LEN` bytes, so are the bytes it holds at any time, and
//!   nothing is left allocated once it is dropped (a counting global
//!   allocator, per thread, armed only around the reader's calls);
//! * a call that reports [`FrameError::TooLarge`] allocated nothing for that
//!   frame.
//!
//! Set `CONCUR_FUZZ_CASES` to change the number of cases (default 1,000,000,
//! about 7 s in a debug build).

use concur_ipc::{Fill, FrameError, FrameReader, PREFIX_LEN, READ_CHUNK, read_frame};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read};

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Records an allocation of `new` bytes that replaces one of `old` bytes
/// (0 for a fresh allocation), when this thread is armed.
fn record(old: usize, new: usize) {
    // `try_with`: never panic inside the allocator (these thread-locals have
    // no destructor, so they never go away; this is belt and braces).
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            COUNT.set(COUNT.get() + 1);
            LARGEST.set(LARGEST.get().max(new));
            let live = LIVE.get() + new as isize - old as isize;
            LIVE.set(live);
            PEAK.set(PEAK.get().max(live));
        }
    });
}

fn record_free(size: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            LIVE.set(LIVE.get() - size as isize);
        }
    });
}

// SAFETY: forwards every call to the system allocator unchanged; it only
// counts sizes in thread-locals that need no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(0, layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(0, layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(layout.size(), new_size);
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record_free(layout.size());
        // SAFETY: the caller upholds `dealloc`'s contract, which we pass on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocation statistics of this thread since `arm`.
#[derive(Debug)]
struct Allocs {
    largest: usize,
    peak: isize,
    live: isize,
}

fn arm() {
    COUNT.set(0);
    LARGEST.set(0);
    LIVE.set(0);
    PEAK.set(0);
    ARMED.set(true);
}

fn disarm() -> Allocs {
    ARMED.set(false);
    Allocs {
        largest: LARGEST.get(),
        peak: PEAK.get(),
        live: LIVE.get(),
    }
}

fn allocations() -> usize {
    COUNT.get()
}

/// splitmix64: deterministic, seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// How a stream ends, as the reference parser and the readers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Clean,
    Truncated,
    TooLarge(usize),
}

/// Parses the whole stream at once: the payload spans `(start, len)` and the
/// ending.
fn reference(wire: &[u8], limit: usize, spans: &mut Vec<(usize, usize)>) -> End {
    spans.clear();
    let mut pos = 0;
    loop {
        let rest = wire.len() - pos;
        if rest == 0 {
            return End::Clean;
        }
        if rest < PREFIX_LEN {
            return End::Truncated;
        }
        let prefix = [wire[pos], wire[pos + 1], wire[pos + 2], wire[pos + 3]];
        let len = u32::from_le_bytes(prefix) as usize;
        if len > limit {
            return End::TooLarge(len);
        }
        if rest - PREFIX_LEN < len {
            return End::Truncated;
        }
        spans.push((pos + PREFIX_LEN, len));
        pos += PREFIX_LEN + len;
    }
}

/// A source handing out random amounts, with `Interrupted` and (when
/// non-blocking) `WouldBlock` between reads. Allocates nothing.
struct Source<'a> {
    data: &'a [u8],
    rng: Rng,
    max_chunk: usize,
    non_blocking: bool,
    would_block: usize,
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rng.one_in(16) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if self.non_blocking && self.rng.one_in(6) {
            self.would_block += 1;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf
            .len()
            .min(self.data.len())
            .min(1 + self.rng.below(self.max_chunk));
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn pick_limit(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..60 => rng.below(301),
        60..85 => rng.range(301, 70_000),
        85..97 => rng.range(70_001, 4 << 20),
        _ => rng.range(4 << 20, 64 << 20),
    }
}

fn pick_len(rng: &mut Rng, limit: usize) -> usize {
    match rng.below(10) {
        0..6 => rng.below(limit.min(64) + 1),
        6 => 0,
        7 | 8 if limit <= 512 => limit - rng.below(limit.min(3) + 1),
        _ => rng.below(limit.min(300) + 1),
    }
}

/// Appends a frame whose payload is a stretch of a fixed pattern starting at
/// `seed` (copied, not generated per byte: big frames stay cheap in debug).
fn push_frame(wire: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>, len: usize, seed: u8) {
    const PATTERN: [u8; 512] = {
        let mut p = [0u8; 512];
        let mut i = 0;
        while i < p.len() {
            p[i] = (i * 7) as u8;
            i += 1;
        }
        p
    };
    wire.extend_from_slice(&u32::try_from(len).unwrap().to_le_bytes());
    spans.push((wire.len(), len));
    let mut left = len;
    let mut at = usize::from(seed);
    while left > 0 {
        let k = left.min(256);
        wire.extend_from_slice(&PATTERN[at..at + k]);
        left -= k;
        at = (at + 1) % 256;
    }
}

/// A prefix that is hostile for `limit`.
fn hostile_len(rng: &mut Rng, limit: usize) -> u32 {
    let near = u32::try_from(limit).unwrap_or(u32::MAX);
    match rng.below(5) {
        0 => rng.next() as u32,
        1 => near.saturating_add(1),
        2 => near,
        3 => u32::MAX,
        _ => 1 << 31,
    }
}

fn mutate(rng: &mut Rng, wire: &mut Vec<u8>, spans: &[(usize, usize)], limit: usize) {
    for _ in 0..=rng.below(4) {
        let n = wire.len();
        match rng.below(8) {
            0 if n > 0 => {
                let i = rng.below(n);
                wire[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                wire[i] = rng.next() as u8;
            }
            2 if n > 0 => wire.truncate(rng.below(n)),
            3 if n > 0 => {
                // Splice: a copy of one stretch inserted somewhere else.
                let a = rng.below(n);
                let b = rng.range(a, n.min(a + 64));
                let at = rng.below(n + 1);
                let piece = wire[a..b].to_vec();
                wire.splice(at..at, piece);
            }
            4 if n > 0 => {
                let a = rng.below(n);
                let b = rng.range(a, n);
                wire.drain(a..b);
            }
            5 if !spans.is_empty() => {
                // A hostile length where a prefix is read.
                let (start, _) = spans[rng.below(spans.len())];
                if start <= wire.len() {
                    let v = hostile_len(rng, limit).to_le_bytes();
                    wire[start - PREFIX_LEN..start].copy_from_slice(&v);
                }
            }
            6 => {
                let at = spans
                    .get(rng.below(spans.len() + 1))
                    .map_or(n, |&(s, _)| s - PREFIX_LEN)
                    .min(n);
                let v = hostile_len(rng, limit).to_le_bytes();
                wire.splice(at..at, v);
            }
            _ => {
                let extra = rng.below(8);
                wire.extend((0..extra).map(|_| rng.next() as u8));
            }
        }
    }
}

#[derive(Debug, Default)]
struct Stats {
    cases: usize,
    frames: usize,
    ends: [usize; 3],
    full: usize,
    would_block: usize,
    read_frame_runs: usize,
}

/// Runs one stream through a fresh `FrameReader` and checks it against the
/// reference.
fn check_reader(
    wire: &[u8],
    limit: usize,
    spans: &[(usize, usize)],
    end: End,
    rng: &mut Rng,
    stats: &mut Stats,
) {
    let blocking = rng.one_in(3);
    // Mostly reads of many bytes: tiny reads cost a call per byte in debug
    // (and every split point is a unit test already).
    let max_chunk = match rng.below(32) {
        0 => 1,
        1 => 3,
        2..4 => 17,
        4..8 => 64,
        8..16 => 256,
        16..20 => 5000,
        _ => 1 << 20,
    };
    let lazy = rng.one_in(4);
    let mut src = Source {
        data: wire,
        rng: Rng(rng.next()),
        max_chunk,
        non_blocking: !blocking,
        would_block: 0,
    };
    let bound = limit + PREFIX_LEN;
    let mut next = 0;
    let mut full = 0;
    let ctx = |next: usize| {
        let shown = &wire[..wire.len().min(256)];
        format!(
            "limit {limit}, frame {next}, {} bytes: {shown:?}",
            wire.len()
        )
    };

    arm();
    let mut reader = FrameReader::new(limit);
    let got = if blocking {
        loop {
            let before = allocations();
            let res = reader.read_frame_blocking(&mut src);
            match res {
                Ok(p) => {
                    let (s, len) = spans[next];
                    assert!(p == &wire[s..s + len], "{}", ctx(next));
                    next += 1;
                }
                Err(FrameError::Closed) => break End::Clean,
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    break End::Truncated;
                }
                Err(FrameError::TooLarge { len, max }) => {
                    // This call may have opened the first room (before the
                    // prefix was known), but grew nothing for the frame.
                    assert_eq!(max, limit);
                    assert!(
                        allocations() == before || reader.capacity() <= READ_CHUNK.min(bound),
                        "allocated for {len}: {}",
                        ctx(next)
                    );
                    break End::TooLarge(len);
                }
                Err(e) => panic!("{e:?}: {}", ctx(next)),
            }
            assert!(reader.capacity() <= bound, "{}", ctx(next));
        }
    } else {
        'stream: loop {
            let before = allocations();
            let fill = match reader.fill_from(&mut src) {
                Ok(f) => f,
                Err(FrameError::TooLarge { len, max }) => {
                    assert_eq!(max, limit);
                    assert_eq!(allocations(), before, "allocated for {len}: {}", ctx(next));
                    break End::TooLarge(len);
                }
                Err(e) => panic!("{e:?}: {}", ctx(next)),
            };
            assert!(reader.capacity() <= bound, "{}", ctx(next));
            if fill == Fill::Full {
                full += 1;
            }
            // Sometimes read again before taking the frames (to reach `Full`).
            if lazy && matches!(fill, Fill::Read(_)) && rng.one_in(2) {
                continue;
            }
            loop {
                let before = allocations();
                match reader.next_frame() {
                    Ok(Some(p)) => {
                        let (s, len) = spans[next];
                        assert!(p == &wire[s..s + len], "{}", ctx(next));
                        next += 1;
                    }
                    Ok(None) => break,
                    Err(FrameError::TooLarge { len, max }) => {
                        assert_eq!(max, limit);
                        assert_eq!(allocations(), before, "{}", ctx(next));
                        break 'stream End::TooLarge(len);
                    }
                    Err(e) => panic!("{e:?}: {}", ctx(next)),
                }
            }
            if fill == Fill::Eof {
                break if reader.buffered() == 0 {
                    End::Clean
                } else {
                    End::Truncated
                };
            }
        }
    };
    drop(reader);
    let allocs = disarm();

    assert_eq!(got, end, "{}", ctx(next));
    assert_eq!(next, spans.len(), "{}", ctx(next));
    assert!(
        allocs.largest <= bound,
        "{allocs:?} > {bound}: {}",
        ctx(next)
    );
    assert!(allocs.peak <= bound as isize, "{allocs:?} > {bound}");
    assert_eq!(allocs.live, 0, "the reader leaked: {allocs:?}");
    stats.frames += next;
    stats.full += full;
    stats.would_block += src.would_block;
}

/// The same stream through `read_frame` with a buffer reused across cases:
/// each allocation is at most the announced length, so at most `limit`.
fn check_read_frame(
    wire: &[u8],
    limit: usize,
    spans: &[(usize, usize)],
    end: End,
    rng: &mut Rng,
    buf: &mut Vec<u8>,
) {
    let mut src = Source {
        data: wire,
        rng: Rng(rng.next()),
        max_chunk: [1, 7, 1 << 20][rng.below(3)],
        non_blocking: false,
        would_block: 0,
    };
    let mut next = 0;
    arm();
    let got = loop {
        match read_frame(&mut src, limit, buf) {
            Ok(()) => {
                let (s, len) = spans[next];
                assert!(buf[..] == wire[s..s + len]);
                next += 1;
            }
            Err(FrameError::Closed) => break End::Clean,
            Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                break End::Truncated;
            }
            Err(FrameError::TooLarge { len, .. }) => break End::TooLarge(len),
            Err(e) => panic!("{e:?}"),
        }
    };
    let allocs = disarm();
    assert_eq!((got, next), (end, spans.len()));
    assert!(allocs.largest <= limit, "{allocs:?} > {limit}");
    if buf.capacity() > 1 << 20 {
        *buf = Vec::new();
    }
}

#[test]
fn a_million_random_and_mutated_streams() {
    let cases: usize = std::env::var("CONCUR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let started = std::time::Instant::now();
    let mut rng = Rng(0x5eed_f00d_cafe_d00d);
    let mut stats = Stats::default();
    let mut wire = Vec::new();
    let mut built = Vec::new();
    let mut spans = Vec::new();
    let mut buf = Vec::new();

    // The issue #12 regression first: 40,000 then 65,533 bytes at 65,536.
    push_frame(&mut wire, &mut built, 40_000, 1);
    push_frame(&mut wire, &mut built, 65_533, 2);
    assert_eq!(reference(&wire, 65_536, &mut spans), End::Clean);
    for _ in 0..20 {
        check_reader(&wire, 65_536, &spans, End::Clean, &mut rng, &mut stats);
        check_read_frame(&wire, 65_536, &spans, End::Clean, &mut rng, &mut buf);
    }

    for case in 0..cases {
        wire.clear();
        built.clear();
        let big = rng.one_in(4000);
        let limit = if big {
            rng.range(65_536, 300_000)
        } else {
            pick_limit(&mut rng)
        };
        for _ in 0..rng.below(7) {
            let len = if big {
                rng.range(limit / 2, limit)
            } else {
                pick_len(&mut rng, limit)
            };
            push_frame(&mut wire, &mut built, len, rng.next() as u8);
        }
        let mutated = !rng.one_in(4);
        if mutated {
            mutate(&mut rng, &mut wire, &built, limit);
        }
        let end = reference(&wire, limit, &mut spans);
        if !mutated {
            assert_eq!((end, &spans), (End::Clean, &built), "the generator");
        }
        check_reader(&wire, limit, &spans, end, &mut rng, &mut stats);
        if case % 8 == 0 {
            check_read_frame(&wire, limit, &spans, end, &mut rng, &mut buf);
            stats.read_frame_runs += 1;
        }
        stats.cases += 1;
        stats.ends[match end {
            End::Clean => 0,
            End::Truncated => 1,
            End::TooLarge(_) => 2,
        }] += 1;
    }
    eprintln!("{stats:?} in {:?}", started.elapsed());
    // The generator must reach every outcome, or the test proves little.
    if cases >= 10_000 {
        let floor = cases / 100;
        assert!(stats.ends.iter().all(|&n| n > floor), "{stats:?}");
        assert!(stats.full > floor && stats.would_block > floor, "{stats:?}");
    }
}

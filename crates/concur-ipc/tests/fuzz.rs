//! Feeds one million random and mutated frames through the frame reader, the
//! decoder and the worker-side dispatch ([`Registry::execute`]): never a
//! panic, never a call unless the frame names a registered function with its
//! exact signature fingerprint, and memory bounded by the frame limit
//! (measured with a counting global allocator).
//!
//! Set `CONCUR_FUZZ_CASES` to change the number of cases (default 1,000,000).

use concur_ipc::{
    Call, FnRef, Hello, Registry, RemoteError, RemoteErrorKind, Reply, Request, RequestRef, decode,
    encode, encode_frame, read_frame,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // ORDERING: statistics only; no other memory is published through them.
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);

concur_ipc::remote! {
    fn probe(a: u32, s: String) -> u64 {
        CALLS.fetch_add(1, Ordering::SeqCst);
        u64::from(a) + s.len() as u64
    }
    fn probe_vec(v: Vec<u16>) -> Vec<u16> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        v
    }
}

/// xorshift64*: deterministic, seeded.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const MAX_FRAME: usize = 4096;

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |r: &Request| {
        let mut f = Vec::new();
        encode_frame(r, MAX_FRAME, &mut f).unwrap();
        out.push(f);
    };
    push(&Request::Exit);
    push(&Request::Init {
        initializer: Some((FnRef::of::<probe>(), vec![1, 2, 3])),
        max_frame: 1 << 20,
    });
    push(&Request::Init {
        initializer: None,
        max_frame: 10,
    });
    for n in 0..4 {
        push(&Request::Call(Call {
            generation: n,
            func: FnRef::of::<probe>(),
            items: (0..n)
                .map(|i| encode(&(i as u32, "abc".repeat(i as usize))).unwrap())
                .collect::<Vec<_>>()
                .into(),
        }));
        push(&Request::Call(Call {
            generation: u64::MAX - n,
            func: FnRef::of::<probe_vec>(),
            items: vec![encode(&vec![7u16; n as usize * 5]).unwrap()].into(),
        }));
    }
    let reply = Reply::Done {
        generation: 9,
        results: vec![
            Ok(encode(&5u64).unwrap()),
            Err(RemoteError::new(RemoteErrorKind::Panic, "&str", "boom").with_backtrace("bt")),
        ]
        .into(),
    };
    let mut f = Vec::new();
    encode_frame(&reply, MAX_FRAME, &mut f).unwrap();
    out.push(f);
    let mut f = Vec::new();
    encode_frame(&Reply::Hello(Hello::current(1)), MAX_FRAME, &mut f).unwrap();
    out.push(f);
    out
}

fn mutate(rng: &mut Rng, frame: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        match rng.below(7) {
            0 if !frame.is_empty() => {
                let i = rng.below(frame.len());
                frame[i] ^= 1 << rng.below(8);
            }
            1 if !frame.is_empty() => {
                let i = rng.below(frame.len());
                frame[i] = rng.next() as u8;
            }
            2 if !frame.is_empty() => {
                let n = rng.below(frame.len());
                frame.truncate(n);
            }
            3 => {
                let i = rng.below(frame.len() + 1);
                frame.insert(i, rng.next() as u8);
            }
            4 if frame.len() >= 4 => {
                // Tamper with the length prefix: anything up to u32::MAX.
                let v = match rng.below(3) {
                    0 => rng.next() as u32,
                    1 => (frame.len() - 4 + rng.below(3)) as u32,
                    _ => (frame.len() as u32).saturating_sub(5 + rng.below(3) as u32),
                };
                frame[..4].copy_from_slice(&v.to_le_bytes());
            }
            5 if !frame.is_empty() => {
                // Inflate a varint-looking byte (length fields).
                let i = rng.below(frame.len());
                frame[i] |= 0x80;
            }
            _ => frame.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
        }
    }
}

fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(64);
    let mut f: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    if rng.below(2) == 0 && f.len() >= 4 {
        let body = (f.len() - 4) as u32;
        f[..4].copy_from_slice(&body.to_le_bytes());
    }
    f
}

/// One case: frame reader, request decoder, dispatch; and the reply decoder
/// on the payload, as the pool side would see it.
fn one(frame: &[u8], buf: &mut Vec<u8>, stats: &mut [usize; 4]) {
    let registry = Registry::global();
    let before_alloc = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before_alloc, Ordering::SeqCst);
    let mut reader = frame;
    match read_frame(&mut reader, MAX_FRAME, buf) {
        Err(_) => stats[0] += 1,
        Ok(()) => {
            // The worker's borrowed view agrees with the owned decode.
            match (decode::<Request>(buf), decode::<RequestRef<'_>>(buf)) {
                (Ok(Request::Call(c)), Ok(RequestRef::Call(v))) => {
                    assert_eq!((c.generation, c.func), (v.generation, v.func));
                    assert!(c.items.iter().eq(v.items.iter()));
                }
                (Ok(Request::Exit), Ok(RequestRef::Exit))
                | (Ok(Request::Init { .. }), Ok(RequestRef::Init { .. }))
                | (Err(_), Err(_)) => {}
                (o, v) => panic!("the owned ({o:?}) and borrowed ({v:?}) decodes disagree"),
            }
            match decode::<Request>(buf) {
                Err(_) => stats[1] += 1,
                Ok(Request::Call(call)) => {
                    stats[2] += 1;
                    let calls_before = CALLS.load(Ordering::SeqCst);
                    let results = registry.execute(&call);
                    let calls = CALLS.load(Ordering::SeqCst) - calls_before;
                    assert_eq!(results.len(), call.items.len());
                    let resolved = registry.resolve(call.func).is_ok();
                    if !resolved {
                        assert_eq!(calls, 0, "called an unresolved function {:?}", call.func);
                        assert!(results.iter().all(|r| r.is_err_and(|e| matches!(
                            e.kind(),
                            RemoteErrorKind::UnknownFunction | RemoteErrorKind::SignatureMismatch
                        ))));
                    } else {
                        assert!(
                            call.func == FnRef::of::<probe>()
                                || call.func == FnRef::of::<probe_vec>()
                        );
                        let ok = results.iter().filter(|r| r.is_ok()).count();
                        assert_eq!(calls, ok, "every successful item is exactly one call");
                    }
                }
                Ok(_) => stats[3] += 1,
            }
            let _ = decode::<Reply>(buf);
        }
    }
    let peak = PEAK.load(Ordering::SeqCst) - before_alloc;
    // serde preallocates at most 1 MiB for a sequence; everything else is
    // proportional to the (bounded) frame.
    let bound = (1 << 20) + 64 * MAX_FRAME;
    assert!(
        peak <= bound,
        "peak allocation {peak} > {bound} for frame {frame:?}"
    );
}

#[test]
fn a_million_random_and_mutated_frames() {
    let cases: usize = std::env::var("CONCUR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    oversized_length_prefixes_never_allocate();
    let seeds = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::new();
    let mut stats = [0usize; 4];
    let mut frame = Vec::new();
    for i in 0..cases {
        frame.clear();
        if i % 4 == 0 {
            frame.extend(random_frame(&mut rng));
        } else {
            frame.extend_from_slice(&seeds[rng.below(seeds.len())]);
            if i % 16 != 1 {
                mutate(&mut rng, &mut frame);
            }
        }
        one(&frame, &mut buf, &mut stats);
        assert!(buf.capacity() <= 2 * MAX_FRAME);
    }
    eprintln!(
        "{cases} frames: {} refused by the reader, {} undecodable, {} calls, {} other requests",
        stats[0], stats[1], stats[2], stats[3]
    );
    // The mutations must reach every stage, or the test proves little.
    if cases >= 10_000 {
        assert!(stats.iter().all(|&n| n > cases / 1000), "{stats:?}");
    }
}

/// Runs first, inside the one test, so no other thread allocates meanwhile.
fn oversized_length_prefixes_never_allocate() {
    let mut buf = Vec::new();
    for len in [MAX_FRAME as u32 + 1, u32::MAX, 1 << 31] {
        let mut f = len.to_le_bytes().to_vec();
        f.extend([0; 16]);
        PEAK.store(CURRENT.load(Ordering::SeqCst), Ordering::SeqCst);
        let before = CURRENT.load(Ordering::SeqCst);
        assert!(read_frame(&mut f.as_slice(), MAX_FRAME, &mut buf).is_err());
        assert_eq!(PEAK.load(Ordering::SeqCst), before);
    }
}

//! Adaptive chunk sizing: what a `map` without a
//! [`chunksize`](super::MapBuilder::chunksize) does.
//!
//! The policy. Every chunk's outcome carries its service time (how long it
//! took where it ran, dispatch included: the executor measures it, see
//! [`ChunkOutcome::service_time`](concur_core::ChunkOutcome::service_time)).
//! The sizer keeps a smoothed per-item cost from them (the ratio of
//! exponentially smoothed sums of service times and of items, so a large
//! chunk, whose time is mostly its items', outweighs a small one, whose
//! time is mostly fixed cost), and sizes the next
//! chunk so that it takes about [`TARGET`] (1 ms): long enough that a
//! chunk's fixed cost (a job, a frame, a wake-up: 0.1–10 µs) is at most a
//! few percent of it, short enough that the workers stay balanced (the last
//! chunks end at most about 1 ms apart). It starts at one item per chunk
//! and grows at most [`GROWTH`]× per chunk submitted, so a first
//! measurement made with the overhead of tiny chunks cannot overshoot; an
//! item that takes 1 ms or more is never batched. When the input's length
//! is known, a chunk holds at most an eighth of what is left (but not less
//! than a sixteenth of the 1 ms size, so the tail is a few chunks, not
//! dozens of tiny ones), so the end of the input is still shared. Without service times (an
//! executor that does not measure them) the chunks stay at one item, as
//! CPython's default.

use std::time::Duration;

/// The service time a chunk is sized for.
pub(super) const TARGET: Duration = Duration::from_millis(1);

/// How much larger than the largest chunk so far the next one may be.
pub(super) const GROWTH: usize = 4;

/// Chunks in flight in adaptive mode without a `buffersize`: the sizer
/// decides each chunk's size when it is submitted, so the input is taken
/// lazily.
pub(super) const WINDOW: usize = 16;

/// How much of the past the smoothed sums forget per measurement.
const ALPHA: f64 = 0.3;

/// How a map cuts its input into chunks.
#[derive(Debug, Clone)]
pub(super) enum Chunking {
    /// A `chunksize` the caller chose.
    Fixed(usize),
    /// Sized as they go (no `chunksize`).
    Adaptive(Sizer),
}

impl Chunking {
    /// The size of the next chunk (`remaining`: inputs left, if known).
    pub(super) fn next_size(&mut self, remaining: Option<usize>) -> usize {
        match self {
            Self::Fixed(n) => *n,
            Self::Adaptive(s) => s.next_size(remaining),
        }
    }

    /// Learns from a finished chunk (adaptive only).
    pub(super) fn observe(&mut self, items: usize, service: Option<Duration>) {
        if let (Self::Adaptive(s), Some(d)) = (self, service) {
            s.observe(items, d);
        }
    }

    pub(super) fn is_adaptive(&self) -> bool {
        matches!(self, Self::Adaptive(_))
    }
}

/// The adaptive sizer of one map.
#[derive(Debug, Clone, Default)]
pub(super) struct Sizer {
    /// Exponentially smoothed sums of the service times (ns) and of the
    /// items of finished chunks: their ratio is the per-item cost, in
    /// which a large chunk weighs more than a small one (whose time is
    /// mostly fixed cost).
    service_ns: f64,
    items: f64,
    /// The largest chunk submitted so far.
    largest: usize,
}

impl Sizer {
    /// The size of the next chunk, `remaining` being how many inputs are
    /// left if that is known.
    pub(super) fn next_size(&mut self, remaining: Option<usize>) -> usize {
        let want = if self.items > 0.0 {
            let ns = self.service_ns / self.items;
            let ideal = TARGET.as_nanos() as f64 / ns.max(1.0);
            // `as` saturates: a huge quotient is `usize::MAX`.
            (ideal as usize).max(1)
        } else {
            1
        };
        let mut size = want.min(self.largest.max(1).saturating_mul(GROWTH));
        if let Some(left) = remaining {
            // An eighth of what is left, but not below a sixteenth of the
            // ideal (a chunk of ~60 us, still far above its fixed cost),
            // so the tail is shared in a few chunks, not dozens of tiny
            // ones.
            size = size.min((left / 8).max(want / 16)).min(left);
        }
        let size = size.max(1);
        self.largest = self.largest.max(size);
        size
    }

    /// Learns from a finished chunk of `items` that took `service`.
    pub(super) fn observe(&mut self, items: usize, service: Duration) {
        if items == 0 {
            return;
        }
        self.service_ns = self.service_ns * (1.0 - ALPHA) + service.as_nanos() as f64;
        self.items = self.items * (1.0 - ALPHA) + items as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the sizer chunks of an item costing `per_item` plus a fixed
    /// `overhead` per chunk; the sizes it picks.
    fn run(per_item: Duration, overhead: Duration, chunks: usize) -> Vec<usize> {
        let mut s = Sizer::default();
        (0..chunks)
            .map(|_| {
                let k = s.next_size(None);
                s.observe(k, overhead + per_item * k as u32);
                k
            })
            .collect()
    }

    #[test]
    fn starts_at_one_and_converges_to_about_a_millisecond() {
        // 50 ns items with 10 us of dispatch: grows 4x per chunk to 1 ms.
        let sizes = run(Duration::from_nanos(50), Duration::from_micros(10), 30);
        assert_eq!(&sizes[..3], &[1, 4, 16]);
        let last = *sizes.last().unwrap();
        let chunk = Duration::from_micros(10) + Duration::from_nanos(50) * last as u32;
        assert!(
            chunk >= Duration::from_micros(800) && chunk <= Duration::from_micros(1300),
            "{sizes:?}: {chunk:?}"
        );
    }

    #[test]
    fn ten_microsecond_items_go_in_about_a_hundred() {
        let sizes = run(Duration::from_micros(10), Duration::from_micros(5), 30);
        let last = *sizes.last().unwrap();
        assert!((80..=110).contains(&last), "{sizes:?}");
    }

    #[test]
    fn long_items_are_never_batched() {
        for per_item in [
            Duration::from_millis(1),
            Duration::from_millis(5),
            Duration::from_secs(2),
        ] {
            let sizes = run(per_item, Duration::from_micros(10), 50);
            assert!(sizes.iter().all(|&k| k == 1), "{per_item:?}: {sizes:?}");
        }
    }

    #[test]
    fn a_known_length_keeps_the_end_shared() {
        let mut s = Sizer::default();
        s.observe(1, Duration::from_nanos(1));
        s.largest = 1 << 20;
        // The ideal is 1M items: an eighth of what is left, not below 1/16
        // of the ideal, never more than is left.
        assert_eq!(s.next_size(Some(80_000_000)), 1_000_000);
        assert_eq!(s.next_size(Some(4_000_000)), 500_000);
        assert_eq!(s.next_size(Some(400_000)), 62_500);
        assert_eq!(s.next_size(Some(80)), 80);
        assert_eq!(s.next_size(Some(0)), 1);
        // Slow items: the eighth rules.
        let mut slow = Sizer::default();
        slow.observe(1, Duration::from_micros(10));
        slow.largest = 1 << 20;
        assert_eq!(slow.next_size(Some(400)), 50);
        assert_eq!(slow.next_size(Some(7)), 6);
    }

    #[test]
    fn extreme_measurements_are_safe() {
        let mut s = Sizer::default();
        s.observe(1, Duration::ZERO);
        s.largest = usize::MAX;
        assert_eq!(s.next_size(None), 1_000_000);
        s.observe(usize::MAX, Duration::MAX);
        assert!(s.next_size(None) >= 1);
        s.observe(1, Duration::MAX);
        assert_eq!(s.next_size(None), 1);
        s.observe(0, Duration::from_secs(1));
        assert_eq!(s.next_size(Some(usize::MAX)), 1);
    }

    #[test]
    fn it_adapts_when_items_get_slower() {
        let mut s = Sizer::default();
        for _ in 0..20 {
            let k = s.next_size(None);
            s.observe(k, Duration::from_nanos(100) * k as u32);
        }
        assert!(s.next_size(None) > 1000);
        for _ in 0..20 {
            let k = s.next_size(None);
            s.observe(k, Duration::from_millis(2) * k as u32);
        }
        assert_eq!(s.next_size(None), 1);
    }
}

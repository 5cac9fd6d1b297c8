//! A `tracing` capture for tests: one global subscriber that records every
//! event, with its level, target and fields as text, either for the
//! current thread ([`capture_tracing`]) or from every thread of the
//! binary ([`recorded`], for events emitted on a pool's own threads; tests
//! pick theirs by a field such as the pool's name).
//!
//! The subscriber is installed once per test binary as the global default
//! (never `with_default`: a thread without a subscriber would cache a
//! callsite's interest as "never"). It enables every level.
//!
//! # Examples
//!
//! ```
//! use concur_testkit::tracing_capture::{Level, capture_tracing};
//!
//! let ((), events) = capture_tracing(|| tracing::warn!(pool = "p", "hello"));
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].level, Level::WARN);
//! assert_eq!(events[0].field("pool"), Some("p"));
//! assert_eq!(events[0].field("message"), Some("hello"));
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, Once};
use tracing_subscriber::layer::SubscriberExt;

pub use tracing::Level;

/// One `tracing` event, its fields formatted with `Debug` (so `%x` fields
/// show their `Display` text; strings are recorded as they are).
///
/// # Examples
///
/// ```
/// let ((), events) = concur_testkit::tracing_capture::capture_tracing(|| {
///     tracing::error!(code = 3, name = %"w", "gone")
/// });
/// assert_eq!(events[0].field("code"), Some("3"));
/// assert_eq!(events[0].field("name"), Some("w"));
/// assert_eq!(events[0].field("missing"), None);
/// ```
#[derive(Debug, Clone)]
pub struct CapturedEvent {
    /// The event's level.
    pub level: Level,
    /// The event's target (the emitting module's path unless it set one).
    pub target: String,
    /// Every field, `message` included, in order.
    pub fields: Vec<(String, String)>,
}

impl CapturedEvent {
    /// The text of field `name`, if the event has it.
    ///
    /// # Examples
    ///
    /// See [`CapturedEvent`].
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the event's `message` contains `text`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ((), events) = concur_testkit::tracing_capture::capture_tracing(|| {
    ///     tracing::info!("worker replaced")
    /// });
    /// assert!(events[0].says("replaced"));
    /// ```
    #[must_use]
    pub fn says(&self, text: &str) -> bool {
        self.field("message").is_some_and(|m| m.contains(text))
    }
}

type Sink = Arc<Mutex<Vec<CapturedEvent>>>;

thread_local! {
    static SINK: std::cell::RefCell<Option<Sink>> = const { std::cell::RefCell::new(None) };
}

/// Every event of the binary since [`install`].
static ALL: Mutex<Vec<CapturedEvent>> = Mutex::new(Vec::new());

struct Capture;

struct Fields(Vec<(String, String)>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let captured = CapturedEvent {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields: fields.0,
        };
        if let Some(sink) = SINK.with(|s| s.borrow().clone()) {
            lock(&sink).push(captured.clone());
        }
        lock(&ALL).push(captured);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Installs the capturing subscriber as this binary's global default (once;
/// later calls do nothing).
///
/// # Panics
///
/// If another global subscriber was installed first.
///
/// # Examples
///
/// ```
/// concur_testkit::tracing_capture::install();
/// tracing::debug!(probe = "installed");
/// assert!(concur_testkit::tracing_capture::recorded(|e| e.field("probe") == Some("installed")).len() == 1);
/// ```
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other global subscriber in this test binary");
    });
}

/// Runs `f` and returns every event emitted on this thread meanwhile.
///
/// # Examples
///
/// See the [module docs](self).
pub fn capture_tracing<R>(f: impl FnOnce() -> R) -> (R, Vec<CapturedEvent>) {
    install();
    let sink: Sink = Arc::default();
    SINK.with(|s| *s.borrow_mut() = Some(sink.clone()));
    let r = f();
    SINK.with(|s| *s.borrow_mut() = None);
    let got = lock(&sink).clone();
    (r, got)
}

/// The events recorded so far on any thread (since [`install`]) for which
/// `pick` is true, in the order they were emitted.
///
/// # Examples
///
/// ```
/// use concur_testkit::tracing_capture::{install, recorded};
/// install();
/// std::thread::spawn(|| tracing::warn!(pool = "elsewhere", "from another thread"))
///     .join()
///     .unwrap();
/// let mine = recorded(|e| e.field("pool") == Some("elsewhere"));
/// assert_eq!(mine.len(), 1);
/// assert!(mine[0].says("another thread"));
/// ```
pub fn recorded(pick: impl Fn(&CapturedEvent) -> bool) -> Vec<CapturedEvent> {
    lock(&ALL).iter().filter(|e| pick(e)).cloned().collect()
}

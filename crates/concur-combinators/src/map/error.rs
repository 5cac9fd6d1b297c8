//! [`MapError`]: why a `map` did not start.

use concur_core::Error;
use std::fmt;

/// Why [`MapBuilder::run`](crate::MapBuilder::run) refused to start.
///
/// # Examples
///
/// ```
/// use concur_combinators::{ExecutorExt, MapError};
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let err = pool.map(|x: u8| x, [1]).chunksize(0).run().unwrap_err();
/// assert!(matches!(err, MapError::ZeroChunksize));
/// assert_eq!(err.to_string(), "map chunksize must be at least 1");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MapError {
    /// `chunksize(0)`: a chunk must hold at least one item.
    ZeroChunksize,
    /// `buffersize(0)`: at least one chunk must be in flight.
    ZeroBuffersize,
    /// The executor refused a chunk (shut down or broken); what was already
    /// submitted has been cancelled.
    Submit(Error),
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroChunksize => f.write_str("map chunksize must be at least 1"),
            Self::ZeroBuffersize => f.write_str("map buffersize must be at least 1"),
            Self::Submit(e) => write!(f, "the executor refused map work: {e}"),
        }
    }
}

impl std::error::Error for MapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Submit(e) => Some(e),
            _ => None,
        }
    }
}

/// A refused option is an [`ErrorKind::InvalidConfig`](concur_core::ErrorKind::InvalidConfig)
/// error; refused work keeps the executor's error kind
/// ([`Shutdown`](concur_core::ErrorKind::Shutdown), …). Either way the
/// source is the `MapError`, so `?` works in a function returning
/// `Result<_, concur_core::Error>`.
///
/// # Examples
///
/// ```
/// use concur_combinators::{ExecutorExt, MapError};
/// use concur_core::ErrorKind;
///
/// fn total(pool: &concur_thread::ThreadPool, chunk: usize) -> Result<u64, concur_core::Error> {
///     let mut sum = 0;
///     for v in pool.map(|x: u64| x * 2, 1..=3).chunksize(chunk).run()? {
///         sum += v?;
///     }
///     Ok(sum)
/// }
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// assert_eq!(total(&pool, 2).unwrap(), 12);
/// let err = total(&pool, 0).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
/// assert_eq!(err.to_string(), "map chunksize must be at least 1");
/// assert!(matches!(err.downcast_ref::<MapError>(), Some(MapError::ZeroChunksize)));
/// ```
impl From<MapError> for Error {
    fn from(e: MapError) -> Self {
        let kind = match &e {
            MapError::Submit(refused) => refused.kind(),
            _ => concur_core::ErrorKind::InvalidConfig,
        };
        Error::with_source(kind, e)
    }
}

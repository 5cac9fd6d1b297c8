//! Thread-pool executor for concur (not implemented yet: see issue 3).

//! concur: Python's concurrent.futures model in Rust (facade; not assembled yet: see issue 7).

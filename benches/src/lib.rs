//! Shared helpers for the concur benches (see `benches/`).

//! Process-pool executor for concur (not implemented yet: see issue 5).

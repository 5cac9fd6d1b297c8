//! as_completed, wait, map and chaining over concur futures (not implemented yet: see issue 4).

//! Bridge between concur futures and async runtimes (not implemented yet: see issue 6).

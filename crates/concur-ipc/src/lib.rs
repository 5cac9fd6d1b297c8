//! Framing, codec and remote-function registry for concur's process executors (not implemented yet: see issue 5).

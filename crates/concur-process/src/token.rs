//! The worker token: how a pool tells a fresh copy of this binary which
//! role it plays (a spawned worker, or the zygote that forks fork servers) and which
//! inherited descriptor it talks on. Written into the copy's environment
//! by [`reexec`](crate::reexec), read back by [`init`](crate::init).

use std::fmt;
use std::os::fd::RawFd;

/// The environment variable carrying the token.
pub(crate) const WORKER_ENV: &str = "CONCUR_PROCESS_WORKER";

/// A re-executed copy's role and its descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A worker, serving on this socket (`spawn:<fd>`).
    Spawn(RawFd),
    /// The process-wide zygote, which forks fork servers (`zygote:<fd>`).
    Zygote(RawFd),
}

impl Token {
    /// Reads a token as [`Display`](fmt::Display) writes it.
    pub(crate) fn parse(token: &str) -> Option<Self> {
        let fd = |prefix: &str| token.strip_prefix(prefix)?.parse::<RawFd>().ok();
        fd("spawn:")
            .map(Self::Spawn)
            .or_else(|| fd("zygote:").map(Self::Zygote))
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spawn(fd) => write!(f, "spawn:{fd}"),
            Self::Zygote(fd) => write!(f, "zygote:{fd}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn tokens_read_back_as_written() {
        for t in [Token::Spawn(7), Token::Zygote(3)] {
            assert_eq!(Token::parse(&t.to_string()), Some(t));
        }
        assert_eq!(Token::parse("spawn:x"), None);
        assert_eq!(Token::parse("other:3"), None);
    }
}

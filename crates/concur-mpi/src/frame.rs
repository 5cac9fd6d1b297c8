//! Frames over MPI: a message carries one `concur_ipc` frame (its length
//! prefix included, as `RemoteCall` encodes it); the receiver checks the
//! prefix against the message's length and decodes the payload.

use concur_ipc::PREFIX_LEN;
use serde::de::DeserializeOwned;

/// Decodes the frame `message`; `None` if the prefix disagrees with the
/// message's length or the payload does not decode to exactly one `T`.
pub(crate) fn decode<T: DeserializeOwned>(message: &[u8]) -> Option<T> {
    let (prefix, payload) = message.split_at_checked(PREFIX_LEN)?;
    let announced = u32::from_le_bytes(prefix.try_into().ok()?);
    if usize::try_from(announced).ok()? != payload.len() {
        return None;
    }
    concur_ipc::decode::<T>(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_prefix() {
        let mut frame = Vec::new();
        concur_ipc::encode_frame(&(7u32, "x"), 1 << 10, &mut frame).unwrap();
        assert_eq!(decode::<(u32, String)>(&frame), Some((7, "x".into())));
        let mut short = frame.clone();
        short.pop();
        assert_eq!(decode::<(u32, String)>(&short), None);
        assert_eq!(decode::<u32>(&[1, 0]), None);
        let mut trailing = frame;
        trailing.push(0);
        assert_eq!(decode::<(u32, String)>(&trailing), None);
    }
}

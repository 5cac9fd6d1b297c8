//! Recovering the message of a failed `Serialize`: postcard's
//! `serde::ser::Error::custom` drops its argument (postcard 1.x returns a bare
//! `Error::SerdeSerCustom`), so after such a failure the value is serialized
//! once more into [`Probe`], a serializer that writes nothing and whose error
//! keeps the message. Only the failure path pays for it; a `Serialize` that
//! fails the same way twice (the normal case: serialization does not change
//! the value) reports its own words.

use serde::ser::{self, Serialize};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The message `value`'s `Serialize` fails with, when it fails through
/// `serde::ser::Error::custom` (directly or via a derive), or `None`.
pub(crate) fn serialize_message<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    // A panic here (the caller already saw the value fail once) only
    // loses the message.
    match catch_unwind(AssertUnwindSafe(|| value.serialize(Probe))) {
        Ok(Err(Custom(message))) => Some(message),
        _ => None,
    }
}

/// A serializer that writes nothing, accepts everything postcard accepts
/// (and sequences of unknown length), and whose error keeps the custom
/// message.
struct Probe;

/// The error of [`Probe`]: the message given to `custom`.
#[derive(Debug)]
struct Custom(String);

impl fmt::Display for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Custom {}

impl ser::Error for Custom {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

type Done = Result<(), Custom>;

macro_rules! scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Done { Ok(()) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = ();
    type Error = Custom;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Done {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Custom> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Custom> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Custom> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Custom> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Custom> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Custom> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Custom> {
        Ok(self)
    }
    fn is_human_readable(&self) -> bool {
        // As postcard: a type may serialize differently for binary formats.
        false
    }
}

macro_rules! compound {
    ($($trait:ident :: $method:ident),* $(,)?) => {
        $(impl ser::$trait for Probe {
            type Ok = ();
            type Error = Custom;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
                value.serialize(Probe)
            }
            fn end(self) -> Done {
                Ok(())
            }
        })*
    };
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for Probe {
    type Ok = ();
    type Error = Custom;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(Probe)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(Probe)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),* $(,)?) => {
        $(impl ser::$trait for Probe {
            type Ok = ();
            type Error = Custom;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, value: &T) -> Done {
                value.serialize(Probe)
            }
            fn end(self) -> Done {
                Ok(())
            }
        })*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: ser::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(ser::Error::custom("my own words"))
        }
    }

    #[derive(serde::Serialize)]
    struct Nested {
        a: u8,
        b: Vec<Option<(u8, Fails)>>,
    }

    #[test]
    fn finds_a_nested_custom_message() {
        let v = Nested {
            a: 1,
            b: vec![None, Some((2, Fails))],
        };
        assert_eq!(serialize_message(&v).as_deref(), Some("my own words"));
        assert_eq!(serialize_message(&(1u8, "x")), None);
    }
}

//! Recovering the message of a failed `Serialize` or `Deserialize`:
//! postcard 1.x's `serde::ser::Error::custom` and `serde::de::Error::custom`
//! drop their argument (a bare `Error::SerdeSerCustom` / `SerdeDeCustom`), so
//! after such a failure the work is done once more with an error type that
//! keeps it. Only the failure path pays; a type that fails the same way twice
//! (the normal case) reports its own words.
//!
//! * Encoding: the value is serialized into [`Probe`], a serializer that
//!   writes nothing.
//! * Decoding: the bytes are decoded again through [`De`], which wraps
//!   postcard's deserializer and every visitor, seed and access it hands
//!   out, so the type's `Deserialize` sees [`DeCustom`] as its error type.
//!   Where the error crosses postcard's own layer (a nested value returns
//!   through postcard's `SeqAccess`, say), postcard keeps only
//!   `SerdeDeCustom`; the text waits in a thread-local slot, `CARRIED`, and
//!   is taken back on the way out.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};
use serde::ser::{self, Serialize};
use std::cell::RefCell;
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

type ProbeResult = Result<(), Custom>;

macro_rules! scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> ProbeResult { Ok(()) })*
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

    fn serialize_none(self) -> ProbeResult {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> ProbeResult {
        value.serialize(self)
    }
    fn serialize_unit(self) -> ProbeResult {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> ProbeResult {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> ProbeResult {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> ProbeResult {
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
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> ProbeResult {
                value.serialize(Probe)
            }
            fn end(self) -> ProbeResult {
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
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> ProbeResult {
        key.serialize(Probe)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> ProbeResult {
        value.serialize(Probe)
    }
    fn end(self) -> ProbeResult {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),* $(,)?) => {
        $(impl ser::$trait for Probe {
            type Ok = ();
            type Error = Custom;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, value: &T) -> ProbeResult {
                value.serialize(Probe)
            }
            fn end(self) -> ProbeResult {
                Ok(())
            }
        })*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

/// The message `T`'s `Deserialize` fails with on `bytes`, when it fails
/// through `serde::de::Error::custom` (or one of serde's helpers built on it:
/// `invalid_value`, `unknown_variant`, ...), or `None`.
pub(crate) fn deserialize_message<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    CARRIED.with(|c| c.borrow_mut().take());
    let mut postcard = postcard::Deserializer::from_bytes(bytes);
    let result = catch_unwind(AssertUnwindSafe(|| T::deserialize(De(&mut postcard))));
    CARRIED.with(|c| c.borrow_mut().take());
    match result {
        Ok(Err(DeCustom {
            message,
            custom: true,
        })) => Some(message),
        _ => None,
    }
}

thread_local! {
    /// A custom message on its way through postcard's error type.
    static CARRIED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The error of [`De`]: a message, and whether a `custom` call made it.
#[derive(Debug)]
struct DeCustom {
    message: String,
    custom: bool,
}

impl fmt::Display for DeCustom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeCustom {}

impl de::Error for DeCustom {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            custom: true,
        }
    }
}

/// An error of the wrapped layer, with the custom message it carries back.
fn from_inner<E: fmt::Display>(e: E) -> DeCustom {
    match CARRIED.with(|c| c.borrow_mut().take()) {
        Some(message) => DeCustom {
            message,
            custom: true,
        },
        None => DeCustom {
            message: e.to_string(),
            custom: false,
        },
    }
}

/// Our error, handed to the wrapped layer (whose error type loses the text).
fn to_outer<E: de::Error>(e: DeCustom) -> E {
    if e.custom {
        CARRIED.with(|c| *c.borrow_mut() = Some(e.message.clone()));
    }
    E::custom(e.message)
}

/// A deserializer whose error is [`DeCustom`].
struct De<D>(D);
/// A visitor called with the wrapped layer's values, passing on [`De`]s.
struct Vis<V>(V);
/// A seed that deserializes from a [`De`].
struct Seed<S>(S);
/// Sequence, map, enum and variant access handing out [`Seed`]s and [`Vis`]es.
struct Access<A>(A);

macro_rules! forward_deserialize {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeCustom> {
            self.0.$method(Vis(visitor)).map_err(from_inner)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for De<D> {
    type Error = DeCustom;

    forward_deserialize!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .deserialize_unit_struct(name, Vis(visitor))
            .map_err(from_inner)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .deserialize_newtype_struct(name, Vis(visitor))
            .map_err(from_inner)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .deserialize_tuple(len, Vis(visitor))
            .map_err(from_inner)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .deserialize_tuple_struct(name, len, Vis(visitor))
            .map_err(from_inner)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .deserialize_struct(name, fields, Vis(visitor))
            .map_err(from_inner)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .deserialize_enum(name, variants, Vis(visitor))
            .map_err(from_inner)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method::<DeCustom>(v).map_err(to_outer)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Vis<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none::<DeCustom>().map_err(to_outer)
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit::<DeCustom>().map_err(to_outer)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(De(d)).map_err(to_outer)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(De(d)).map_err(to_outer)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Access(a)).map_err(to_outer)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Access(a)).map_err(to_outer)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Access(a)).map_err(to_outer)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(De(d)).map_err(to_outer)
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Access<A> {
    type Error = DeCustom;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeCustom> {
        self.0.next_element_seed(Seed(seed)).map_err(from_inner)
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Access<A> {
    type Error = DeCustom;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeCustom> {
        self.0.next_key_seed(Seed(seed)).map_err(from_inner)
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeCustom> {
        self.0.next_value_seed(Seed(seed)).map_err(from_inner)
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Access<A> {
    type Error = DeCustom;
    type Variant = Access<A::Variant>;
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), DeCustom> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(v, variant)| (v, Access(variant)))
            .map_err(from_inner)
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Access<A> {
    type Error = DeCustom;
    fn unit_variant(self) -> Result<(), DeCustom> {
        self.0.unit_variant().map_err(from_inner)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeCustom> {
        self.0.newtype_variant_seed(Seed(seed)).map_err(from_inner)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, DeCustom> {
        self.0.tuple_variant(len, Vis(visitor)).map_err(from_inner)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeCustom> {
        self.0
            .struct_variant(fields, Vis(visitor))
            .map_err(from_inner)
    }
}

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

    /// Refuses odd numbers with its own words.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Even(u8);
    impl<'de> serde::Deserialize<'de> for Even {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = u8::deserialize(d)?;
            if v % 2 == 0 {
                Ok(Even(v))
            } else {
                Err(de::Error::custom(format!("{v} is odd")))
            }
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Shape {
        Pair(u8, Even),
        Named { list: Vec<Option<Even>> },
    }

    #[test]
    fn finds_a_deeply_nested_custom_decode_message() {
        let bytes = crate::encode(&(1u8, vec![2u8, 3])).unwrap();
        assert_eq!(
            deserialize_message::<(u8, Vec<Even>)>(&bytes).as_deref(),
            Some("3 is odd")
        );
        // Through an enum's struct variant and an option.
        let bytes = crate::encode(&(1u32, vec![Some(2u8), None, Some(5)])).unwrap();
        assert_eq!(
            deserialize_message::<Shape>(&bytes).as_deref(),
            Some("5 is odd")
        );
        let bytes = crate::encode(&(0u32, 1u8, 7u8)).unwrap();
        assert_eq!(
            deserialize_message::<Shape>(&bytes).as_deref(),
            Some("7 is odd")
        );
        // serde's own messages, built on `custom`, come back too.
        let bytes = crate::encode(&9u32).unwrap();
        let msg = deserialize_message::<Shape>(&bytes).unwrap();
        assert!(msg.contains("variant index 0 <= i < 2"), "{msg}");
        // Not a custom failure: nothing to add.
        assert_eq!(deserialize_message::<(u8, Vec<Even>)>(&[1]), None);
        assert_eq!(deserialize_message::<(u8, Vec<Even>)>(&[1, 1, 4]), None);
    }
}

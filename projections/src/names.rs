//! The names the read model stores for domain enums: their serde names
//! (`snake_case`), the same strings the event payloads hold.

use serde::{
    Serialize, Serializer,
    ser::{Impossible, StdError},
};

/// The stored name of a domain enum value, e.g. `public_welfare_post`.
pub fn of<T: Serialize>(value: &T) -> String {
    if let Some(name) = name(value) {
        return name.to_string();
    }
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Every enum passed here is a unit enum, serialised as a string.
        other => other.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// The serde name of a unit enum variant, without serialising anything: the
/// fold calls this for every event. `None` for any other value.
pub fn name<T: Serialize>(value: &T) -> Option<&'static str> {
    value.serialize(VariantName).ok()
}

/// A serializer that only answers unit variants, with their name.
struct VariantName;

/// Anything but a unit variant.
#[derive(Debug)]
struct NotAUnitVariant;

impl std::fmt::Display for NotAUnitVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a unit enum variant")
    }
}

impl StdError for NotAUnitVariant {}

impl serde::ser::Error for NotAUnitVariant {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Self
    }
}

type No = Impossible<&'static str, NotAUnitVariant>;

macro_rules! refuse {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $ty),*) -> Result<&'static str, NotAUnitVariant> { Err(NotAUnitVariant) })*
    };
}

impl Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotAUnitVariant;
    type SerializeSeq = No;
    type SerializeTuple = No;
    type SerializeTupleStruct = No;
    type SerializeTupleVariant = No;
    type SerializeMap = No;
    type SerializeStruct = No;
    type SerializeStructVariant = No;

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<&'static str, Self::Error> {
        Ok(variant)
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple(self, _: usize) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<No, Self::Error> {
        Err(NotAUnitVariant)
    }
}

#[cfg(test)]
mod tests {
    use leye_domain::person::{ContactChannel, PlacementKind};

    #[test]
    fn names_are_the_serde_names() {
        assert_eq!(super::of(&PlacementKind::PublicWelfarePost), "public_welfare_post");
        for kind in [PlacementKind::PublicWelfarePost, PlacementKind::Flexible, PlacementKind::SelfEmployed] {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(super::name(&kind), json.as_str(), "the serializer's name is serde_json's");
        }
        assert_eq!(super::name(&ContactChannel::Phone), Some("phone"));
        // Not a unit variant: no name, and `of` still answers as serde_json does.
        assert_eq!(super::name(&"text"), None);
        assert_eq!(super::of(&"text"), "text");
        assert_eq!(super::of(&7), "7");
    }
}

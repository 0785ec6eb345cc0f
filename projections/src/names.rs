//! The names the read model stores for domain enums: their serde names
//! (`snake_case`), the same strings the event payloads hold.

use serde::Serialize;

/// The stored name of a domain enum value, e.g. `public_welfare_post`.
pub fn of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Every enum passed here is a unit enum, serialised as a string.
        other => other.map(|v| v.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use leye_domain::person::PlacementKind;

    #[test]
    fn names_are_the_serde_names() {
        assert_eq!(super::of(&PlacementKind::PublicWelfarePost), "public_welfare_post");
    }
}

//! Tianjin administrative division codes and what covers what.
//!
//! A code is `120000` (the whole city), a district (6 digits, one of
//! [`TIANJIN_DISTRICTS`]), a street or town (9 digits) or a community or
//! village (12 digits); a longer code begins with the code of the division it
//! lies in. A principal's jurisdiction is a list of codes.

use std::fmt;

use serde::{Serialize, Serializer};

/// The city-wide code.
pub const CITY: &str = "120000";

/// Tianjin's sixteen districts.
pub const TIANJIN_DISTRICTS: [&str; 16] = [
    "120101", "120102", "120103", "120104", "120105", "120106", "120110", "120111", "120112", "120113", "120114",
    "120115", "120116", "120117", "120118", "120119",
];

/// One validated division code. Ordered and compared as its digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(String);

/// How fine a code is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    City,
    District,
    Street,
    Community,
}

impl DivisionCode {
    /// Parses a code. The error is the rule broken; it never repeats the input.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if !raw.bytes().all(|b| b.is_ascii_digit()) || raw.is_empty() {
            return Err("a division code is digits only".to_owned());
        }
        if !raw.starts_with("12") {
            return Err("a division code starts with 12 (Tianjin)".to_owned());
        }
        if !matches!(raw.len(), 6 | 9 | 12) {
            return Err("a division code is 6 (city or district), 9 (street) or 12 (community) digits".to_owned());
        }
        if raw == CITY {
            return Ok(DivisionCode(raw.to_owned()));
        }
        let district = &raw[..6];
        if !TIANJIN_DISTRICTS.contains(&district) {
            return Err(
                "a division code's first six digits are 120000 or one of Tianjin's districts 120101-120106, 120110-120119"
                    .to_owned(),
            );
        }
        Ok(DivisionCode(raw.to_owned()))
    }

    /// The code's digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `120000`, the whole city.
    pub fn is_city(&self) -> bool {
        self.0 == CITY
    }

    fn level(&self) -> Level {
        match self.0.len() {
            _ if self.is_city() => Level::City,
            6 => Level::District,
            9 => Level::Street,
            _ => Level::Community,
        }
    }

    /// Whether this code covers a place known by its district code and,
    /// when known, its street and community codes (`Some("")` counts as
    /// unknown, as proto3 sends it).
    ///
    /// - The city covers every place whose codes all start with `12`.
    /// - A district covers places in that district.
    /// - A street covers places whose street is it, or whose community lies
    ///   in it; a place known only by its district (an enterprise seat) is
    ///   *not* covered.
    /// - A community covers only places in that community.
    ///
    /// Below the city, a place whose codes contradict each other (a street
    /// outside its district, a community outside its street, wrong lengths)
    /// is covered by nothing: fail closed.
    pub fn covers(&self, district: &str, street: Option<&str>, community: Option<&str>) -> bool {
        let street = street.filter(|s| !s.is_empty());
        let community = community.filter(|c| !c.is_empty());
        if self.level() == Level::City {
            return [Some(district), street, community].into_iter().flatten().all(|c| c.starts_with("12"));
        }
        if !place_is_consistent(district, street, community) {
            return false;
        }
        match self.level() {
            Level::City => true,
            Level::District => district == self.0,
            Level::Street => {
                street == Some(self.0.as_str()) || community.is_some_and(|c| c.starts_with(self.0.as_str()))
            }
            Level::Community => community == Some(self.0.as_str()),
        }
    }

    /// Whether this code covers a whole area given as a jurisdiction code:
    /// `""` or `120000` is the city (covered only by the city), otherwise a
    /// valid 6-, 9- or 12-digit code covered when it lies inside this one.
    /// An invalid area is covered by nothing.
    pub fn covers_area(&self, area: &str) -> bool {
        if area.is_empty() || area == CITY {
            return self.is_city();
        }
        match DivisionCode::parse(area) {
            Ok(area) => self.is_city() || area.0.starts_with(self.0.as_str()),
            Err(_) => false,
        }
    }
}

/// Lengths right and each finer code inside the coarser one.
fn place_is_consistent(district: &str, street: Option<&str>, community: Option<&str>) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(district, 6) {
        return false;
    }
    if let Some(s) = street
        && !(digits(s, 9) && s.starts_with(district))
    {
        return false;
    }
    if let Some(c) = community
        && !(digits(c, 12) && c.starts_with(street.unwrap_or(district)))
    {
        return false;
    }
    true
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl std::str::FromStr for DivisionCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        match DivisionCode::parse(s) {
            Ok(c) => c,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parse_rules() {
        for ok in ["120000", "120101", "120119", "120110", "120101001", "120101001002"] {
            assert!(DivisionCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "12",
            "110101",
            "120107",
            "120120",
            "120100",
            "120000001",
            "12010100",
            "1201010011",
            "12010a",
            " 120101",
            "１２０１０１",
            "120101001002003",
        ] {
            assert!(DivisionCode::parse(bad).is_err(), "{bad:?}");
        }
        let e = DivisionCode::parse("110101").err().unwrap_or_default();
        assert!(!e.contains("110101"), "the rule never repeats the input");
        assert!(code("120000").is_city());
        assert!(!code("120101").is_city());
        assert_eq!(code("120101001").as_str(), "120101001");
    }

    #[test]
    fn city_covers_everything_in_tianjin() {
        let city = code("120000");
        assert!(city.covers("120101", None, None));
        assert!(city.covers("120116", Some("120116001"), Some("120116001001")));
        assert!(!city.covers("110101", None, None));
        assert!(city.covers_area(""));
        assert!(city.covers_area("120000"));
        assert!(city.covers_area("120101"));
        assert!(city.covers_area("120101001002"));
        assert!(!city.covers_area("110101"));
    }

    #[test]
    fn district_covers_its_district() {
        let d = code("120101");
        assert!(d.covers("120101", None, None));
        assert!(d.covers("120101", Some("120101001"), None));
        assert!(d.covers("120101", Some("120101001"), Some("120101001002")));
        assert!(d.covers("120101", Some(""), Some("")));
        assert!(!d.covers("120102", None, None));
        assert!(!d.covers("120102", Some("120102001"), None));
        // Contradictory place: fail closed.
        assert!(!d.covers("120101", Some("120102001"), None));
        assert!(!d.covers("120101", Some("120101001"), Some("120101002003")));
        assert!(d.covers_area("120101"));
        assert!(d.covers_area("120101001"));
        assert!(d.covers_area("120101001002"));
        assert!(!d.covers_area("120102"));
        assert!(!d.covers_area(""));
        assert!(!d.covers_area("120000"));
        assert!(!d.covers_area("1201010"));
    }

    #[test]
    fn street_covers_its_street_not_a_place_known_only_by_district() {
        let s = code("120101001");
        assert!(s.covers("120101", Some("120101001"), None));
        assert!(s.covers("120101", Some("120101001"), Some("120101001002")));
        assert!(s.covers("120101", None, Some("120101001002")));
        assert!(!s.covers("120101", Some("120101002"), None));
        assert!(!s.covers("120101", None, Some("120101002001")));
        // An enterprise seat: only a district.
        assert!(!s.covers("120101", None, None));
        assert!(!s.covers("120101", Some(""), None));
        assert!(s.covers_area("120101001"));
        assert!(s.covers_area("120101001002"));
        assert!(!s.covers_area("120101"));
        assert!(!s.covers_area("120101002"));
        assert!(!s.covers_area("120000"));
    }

    #[test]
    fn community_covers_only_itself() {
        let c = code("120101001002");
        assert!(c.covers("120101", Some("120101001"), Some("120101001002")));
        assert!(c.covers("120101", None, Some("120101001002")));
        assert!(!c.covers("120101", Some("120101001"), Some("120101001003")));
        assert!(!c.covers("120101", Some("120101001"), None));
        assert!(!c.covers("120101", None, None));
        assert!(c.covers_area("120101001002"));
        assert!(!c.covers_area("120101001"));
        assert!(!c.covers_area("120101"));
    }
}

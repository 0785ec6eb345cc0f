//! Value types, parsed once at the edge. A value that exists is valid.
//!
//! Parse errors are [`ValueError`]s: the rule that failed, in words, never
//! repeating the offending value (it may be personal data). The caller adds the
//! field name.

use std::fmt;

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::Date;

/// The rule a value broke, e.g. "must be 18 characters".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    fn new(rule: impl Into<String>) -> Self {
        Self(rule.into())
    }
}

// === impl ResidentId ===

/// 公民身份号码: the 18-character resident identity number (GB 11643-1999).
///
/// 6-digit address code, 8-digit birth date, 3-digit sequence (odd: male, even:
/// female), and a check character by ISO 7064 MOD 11-2. Sensitive personal
/// information: `Debug` redacts it and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [u8; 11] = *b"10X98765432";

/// Province-level prefixes of GB/T 2260 codes (mainland, Taiwan, Hong Kong, Macao).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl ResidentId {
    /// The check character (ISO 7064 MOD 11-2) of the first 17 characters,
    /// `None` unless they are 17 ASCII digits. For generators of test and demo data.
    pub fn check_character(first17: &str) -> Option<char> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = bytes.iter().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        Some(char::from(ID_CHECK[(sum % 11) as usize]))
    }

    /// Parses a resident ID, checking length, digits, province, a real birth
    /// date not after `today`, and the check character. A lowercase `x` check
    /// character is accepted and stored uppercase.
    pub fn parse(raw: &str, today: Date) -> Result<Self, ValueError> {
        let id = Self::parse_unchecked_date(raw)?;
        if id.birth_date() > today {
            return Err(ValueError::new("birth date (characters 7-14) lies in the future"));
        }
        Ok(id)
    }

    /// Every check but "birth date not in the future" (for stored values).
    fn parse_unchecked_date(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(ValueError::new("must be 18 characters (GB 11643-1999)"));
        }
        let bytes = s.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new("the first 17 characters must be digits"));
        }
        if !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(ValueError::new("the check character must be a digit or X"));
        }
        if !PROVINCES.contains(&&s[..2]) {
            return Err(ValueError::new("characters 1-2 are not a province code (GB/T 2260)"));
        }
        let year: i32 = s[6..10].parse().map_err(|_| ValueError::new("birth year is not a number"))?;
        let month: u32 = s[10..12].parse().map_err(|_| ValueError::new("birth month is not a number"))?;
        let day: u32 = s[12..14].parse().map_err(|_| ValueError::new("birth day is not a number"))?;
        if year < 1900 || Date::from_ymd_opt(year, month, day).is_none() {
            return Err(ValueError::new("characters 7-14 are not a real birth date YYYYMMDD"));
        }
        if Self::check_character(&s[..17]) != Some(char::from(bytes[17])) {
            return Err(ValueError::new("check character does not match (ISO 7064 MOD 11-2)"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in characters 7-14.
    pub fn birth_date(&self) -> Date {
        let y = self.0[6..10].parse().unwrap_or(1900);
        let m = self.0[10..12].parse().unwrap_or(1);
        let d = self.0[12..14].parse().unwrap_or(1);
        // Checked to be a real date when parsed.
        Date::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    /// Odd 17th digit: male; even: female.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Gender::Male } else { Gender::Female }
    }

    /// Full years of age on `date` (0 before the first birthday). A person born
    /// on 29 February turns a year older on 1 March in common years.
    pub fn age_on(&self, date: Date) -> u32 {
        full_years_between(self.birth_date(), date)
    }
}

/// Full years from `from` to `to` (0 when `to` is before `from`).
pub fn full_years_between(from: Date, to: Date) -> u32 {
    if to < from {
        return 0;
    }
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

impl TryFrom<String> for ResidentId {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::parse_unchecked_date(&s)
    }
}

impl From<ResidentId> for String {
    fn from(id: ResidentId) -> String {
        id.0
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResidentId(<redacted>)")
    }
}

// === impl RegisteredId ===

/// The resident ID a registration was made with, or what of it stays when it
/// is not at hand: the birth date and sex it encodes, which the rules (ages,
/// "4050", retirement) and the targets need and which do not identify a
/// person by themselves.
///
/// Stored events keep the resident ID sealed (leye's personal-data codec);
/// `Withheld` is what a reader gets without the person's key: a follower that
/// needs none (projections, the publisher by default), or anyone after the
/// key was destroyed (`erased`, PIPL art. 47).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RegisteredId {
    Known(ResidentId),
    Withheld {
        birth_date: Date,
        gender: Gender,
        /// The person's key was destroyed: the resident ID is gone for good.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        erased: bool,
    },
}

impl RegisteredId {
    /// The resident ID, when at hand.
    pub fn known(&self) -> Option<&ResidentId> {
        match self {
            Self::Known(id) => Some(id),
            Self::Withheld { .. } => None,
        }
    }

    pub fn birth_date(&self) -> Date {
        match self {
            Self::Known(id) => id.birth_date(),
            Self::Withheld { birth_date, .. } => *birth_date,
        }
    }

    pub fn gender(&self) -> Gender {
        match self {
            Self::Known(id) => id.gender(),
            Self::Withheld { gender, .. } => *gender,
        }
    }

    /// Full years of age on `date`, as [`ResidentId::age_on`].
    pub fn age_on(&self, date: Date) -> u32 {
        full_years_between(self.birth_date(), date)
    }

    /// What stays of it without the resident ID.
    pub fn withheld(&self, erased: bool) -> Self {
        Self::Withheld { birth_date: self.birth_date(), gender: self.gender(), erased }
    }

    /// Whether the resident ID was erased.
    pub fn is_erased(&self) -> bool {
        matches!(self, Self::Withheld { erased: true, .. })
    }

    /// Whether `other` can be the same person: the same resident ID, or, when
    /// one is withheld, the same birth date and sex.
    pub fn may_be(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Known(a), Self::Known(b)) => a == b,
            _ => self.birth_date() == other.birth_date() && self.gender() == other.gender(),
        }
    }
}

impl From<ResidentId> for RegisteredId {
    fn from(id: ResidentId) -> Self {
        Self::Known(id)
    }
}

// === impl PersonName ===

/// A person's name, 1 to 50 characters. Sensitive: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Ok(Self(text(raw, 1, 50)?))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::parse(&s)
    }
}

impl From<PersonName> for String {
    fn from(n: PersonName) -> String {
        n.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(<redacted>)")
    }
}

// === text: values/text.rs ===

mod text;
pub use text::{code, contains_resident_id, input, input_text, slug, text};

// === places ===

/// A GB/T 2260 six-digit county-level code anywhere in China (户籍地).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountyCode(String);

impl CountyCode {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("must be a 6-digit GB/T 2260 code"));
        }
        if !PROVINCES.contains(&&s[..2]) {
            return Err(ValueError::new("the first 2 digits are not a province code (GB/T 2260)"));
        }
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Tianjin hukou (天津户籍): codes starting 12.
    pub fn is_tianjin(&self) -> bool {
        self.0.starts_with("12")
    }
}

impl TryFrom<String> for CountyCode {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::parse(&s)
    }
}
impl From<CountyCode> for String {
    fn from(c: CountyCode) -> String {
        c.0
    }
}

/// Tianjin's 16 districts (GB/T 2260), domain.md §6.
pub const TIANJIN_DISTRICTS: [(&str, &str); 16] = [
    ("120101", "和平区 Heping"),
    ("120102", "河东区 Hedong"),
    ("120103", "河西区 Hexi"),
    ("120104", "南开区 Nankai"),
    ("120105", "河北区 Hebei"),
    ("120106", "红桥区 Hongqiao"),
    ("120110", "东丽区 Dongli"),
    ("120111", "西青区 Xiqing"),
    ("120112", "津南区 Jinnan"),
    ("120113", "北辰区 Beichen"),
    ("120114", "武清区 Wuqing"),
    ("120115", "宝坻区 Baodi"),
    ("120116", "滨海新区 Binhai New Area"),
    ("120117", "宁河区 Ninghe"),
    ("120118", "静海区 Jinghai"),
    ("120119", "蓟州区 Jizhou"),
];

/// One of Tianjin's 16 districts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DistrictCode(String);

impl DistrictCode {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        if TIANJIN_DISTRICTS.iter().any(|(c, _)| *c == s) {
            Ok(Self(s.to_string()))
        } else {
            Err(ValueError::new("must be one of Tianjin's 16 district codes (120101..120119)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DistrictCode {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::parse(&s)
    }
}
impl From<DistrictCode> for String {
    fn from(c: DistrictCode) -> String {
        c.0
    }
}

/// 常住地: district, street/town (9-digit code) and community/village (12-digit
/// code), nested by prefix as in the statistical division codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residence {
    pub district: DistrictCode,
    pub street: String,
    pub community: String,
}

/// Which part of a residence failed, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidencePart {
    District,
    Street,
    Community,
}

impl Residence {
    pub fn parse(district: &str, street: &str, community: &str) -> Result<Self, (ResidencePart, ValueError)> {
        let district = DistrictCode::parse(district).map_err(|e| (ResidencePart::District, e))?;
        let street = street.trim();
        if street.len() != 9 || !street.bytes().all(|b| b.is_ascii_digit()) || !street.starts_with(district.as_str()) {
            return Err((ResidencePart::Street, ValueError::new("must be 9 digits starting with the district code")));
        }
        let community = community.trim();
        if community.len() != 12 || !community.bytes().all(|b| b.is_ascii_digit()) || !community.starts_with(street) {
            return Err((ResidencePart::Community, ValueError::new("must be 12 digits starting with the street code")));
        }
        Ok(Self { district, street: street.to_string(), community: community.to_string() })
    }
}

// === impl CreditCode ===

/// 统一社会信用代码 (GB 32100-2015): 18 characters over 0-9 A-H J-N P-R T-U W-Y,
/// the last a check character (weights 3^i mod 31, check = 31 - sum mod 31).
///
/// [`CreditCode::parse`] refuses codes failing the check: a typo in an
/// employer's code would otherwise link a placement to the wrong enterprise.
/// Some codes issued early fail the check yet are legal; an enterprise
/// registration may accept one when a caseworker confirms it against the
/// business licence ([`CreditCode::parse_format`]), and stored events keep it
/// (deserialisation checks the format only: the check was decided when the
/// fact was recorded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

impl CreditCode {
    /// The check character (GB 32100-2015) of the first 17 characters, `None`
    /// unless they are 17 characters of the code's alphabet. For generators.
    pub fn check_character(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0u32;
        for (b, w) in first17.bytes().zip(CREDIT_WEIGHTS) {
            sum += CREDIT_ALPHABET.iter().position(|&a| a == b)? as u32 * w;
        }
        Some(char::from(CREDIT_ALPHABET[((31 - sum % 31) % 31) as usize]))
    }

    /// A code of the right form whose check character matches.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let code = Self::parse_format(raw)?;
        if !code.check_character_valid() {
            return Err(ValueError::new("check character does not match (GB 32100-2015)"));
        }
        Ok(code)
    }

    /// Whether the last character is the GB 32100-2015 check character of the others.
    pub fn check_character_valid(&self) -> bool {
        Self::check_character(&self.0[..17]) == Some(char::from(self.0.as_bytes()[17]))
    }

    /// A code of the right form (length, alphabet, division code), whether or
    /// not its check character matches: see [`CreditCode::check_character_valid`].
    pub fn parse_format(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.len() != 18 {
            return Err(ValueError::new("must be 18 characters (GB 32100-2015)"));
        }
        if !s.bytes().all(|b| CREDIT_ALPHABET.contains(&b)) {
            return Err(ValueError::new("may hold only 0-9 and A-H J-N P-R T-U W-Y"));
        }
        if !s.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new("characters 3-8 must be a division code (digits)"));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CreditCode {
    type Error = ValueError;
    /// The format only: stored facts keep codes confirmed by hand.
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::parse_format(&s)
    }
}
impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

// === impl Fen ===

/// An amount of money in fen (1 yuan = 100 fen), strictly positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Fen(i64);

impl Fen {
    pub fn positive(amount: i64) -> Result<Self, ValueError> {
        if amount > 0 { Ok(Self(amount)) } else { Err(ValueError::new("must be a positive amount in fen")) }
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Fen {
    type Error = ValueError;
    fn try_from(v: i64) -> Result<Self, ValueError> {
        Self::positive(v)
    }
}
impl From<Fen> for i64 {
    fn from(f: Fen) -> i64 {
        f.0
    }
}

// === dates ===

/// Parses an ISO calendar date `YYYY-MM-DD`, in 1900 or later (no
/// employment record of this service lies earlier; a year 0001 is a typo).
pub fn parse_date(raw: &str) -> Result<Date, ValueError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ValueError::new("is required (YYYY-MM-DD)"));
    }
    Date::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| d.year() >= 1900 && s.len() == 10)
        .ok_or_else(|| ValueError::new("must be a real date YYYY-MM-DD, in 1900 or later"))
}

/// An inclusive date range with `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    pub fn new(from: Date, to: Date) -> Result<Self, ValueError> {
        if from <= to { Ok(Self { from, to }) } else { Err(ValueError::new("must not end before it starts")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::from_ymd_opt(y, m, day).unwrap()
    }

    /// Builds a valid ID from its first 17 characters, computing the check character.
    pub(crate) fn with_check(first17: &str) -> String {
        let sum: u32 = first17.bytes().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        format!("{first17}{}", ID_CHECK[(sum % 11) as usize] as char)
    }

    #[test]
    fn accepts_the_standard_example_with_x_check() {
        // GB 11643-1999's own example.
        let id = ResidentId::parse("11010519491231002X", d(2026, 1, 1)).unwrap();
        assert_eq!(id.birth_date(), d(1949, 12, 31));
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.age_on(d(2026, 1, 1)), 76);
        // lowercase x is normalised
        assert_eq!(ResidentId::parse("11010519491231002x", d(2026, 1, 1)).unwrap().as_str(), "11010519491231002X");
    }

    #[test]
    fn check_characters_for_generators_agree_with_parse() {
        assert_eq!(ResidentId::check_character("11010519491231002"), Some('X'));
        assert_eq!(ResidentId::check_character("1101051949123100"), None);
        assert_eq!(ResidentId::check_character("1101051949123100A"), None);
        let body = "91120111MA05JX0K0";
        let check = CreditCode::check_character(body).unwrap();
        assert!(CreditCode::parse(&format!("{body}{check}")).is_ok());
        assert_eq!(CreditCode::check_character("91120111MA05JX0KI"), None, "I is outside the alphabet");
        assert_eq!(CreditCode::check_character("911201"), None);
    }

    #[test]
    fn rejects_each_broken_rule() {
        let today = d(2026, 1, 1);
        let rule = |s: &str| ResidentId::parse(s, today).unwrap_err().0;
        assert!(rule("1101051949123100").contains("18 characters"));
        assert!(rule("1101051949123A002X").contains("17 characters must be digits"));
        assert!(rule("11010519491231002Y").contains("digit or X"));
        assert!(rule(&with_check("99010519491231002")).contains("province"));
        assert!(rule(&with_check("12011119900230001")).contains("real birth date"));
        assert!(rule(&with_check("12011118990101001")).contains("real birth date"));
        assert!(rule(&with_check("12011120300101001")).contains("future"));
        assert!(rule("110105194912310021").contains("check character"));
    }

    #[test]
    fn error_texts_never_repeat_the_id() {
        let err = ResidentId::parse("110105194912310021", d(2026, 1, 1)).unwrap_err();
        assert!(!err.0.contains("110105"));
        assert_eq!(
            format!("{:?}", ResidentId::parse("11010519491231002X", d(2026, 1, 1)).unwrap()),
            "ResidentId(<redacted>)"
        );
    }

    #[test]
    fn gender_and_age_follow_from_the_id() {
        let man = ResidentId::parse(&with_check("12011119800615003"), d(2026, 1, 1)).unwrap();
        assert_eq!(man.gender(), Gender::Male);
        assert_eq!(man.age_on(d(2026, 6, 14)), 45);
        assert_eq!(man.age_on(d(2026, 6, 15)), 46);
        let leap = ResidentId::parse(&with_check("12011120000229004"), d(2026, 1, 1)).unwrap();
        assert_eq!(leap.gender(), Gender::Female);
        assert_eq!(leap.age_on(d(2018, 2, 28)), 17);
        assert_eq!(leap.age_on(d(2018, 3, 1)), 18);
    }

    #[test]
    fn credit_code_check_character() {
        // A code built by the rule: check = 31 - (Σ vᵢ·wᵢ mod 31).
        let body = "91120111MA05JX0K0";
        let sum: u32 = body
            .bytes()
            .zip(CREDIT_WEIGHTS)
            .map(|(b, w)| CREDIT_ALPHABET.iter().position(|&a| a == b).unwrap() as u32 * w)
            .sum();
        let check = CREDIT_ALPHABET[((31 - sum % 31) % 31) as usize] as char;
        let good = format!("{body}{check}");
        assert!(CreditCode::parse(&good).is_ok());
        let wrong = if check == '0' { '1' } else { '0' };
        assert!(CreditCode::parse(&format!("{body}{wrong}")).unwrap_err().0.contains("check character"));
        // An early code failing the check keeps its form checks, and says so.
        let early = CreditCode::parse_format(&format!("{body}{wrong}")).unwrap();
        assert!(!early.check_character_valid());
        assert!(CreditCode::parse(&good).unwrap().check_character_valid());
        assert!(CreditCode::parse_format("91120111MA05JX0K0I").is_err());
        // Stored facts are read back whether or not their check character matched.
        let stored: CreditCode = serde_json::from_str(&format!("\"{body}{wrong}\"")).unwrap();
        assert_eq!(stored, early);
        assert!(CreditCode::parse("91120111MA05JX0K0I").unwrap_err().0.contains("0-9 and A-H"));
        assert!(CreditCode::parse("911201").unwrap_err().0.contains("18 characters"));
    }

    #[test]
    fn residence_codes_nest_by_prefix() {
        assert!(Residence::parse("120111", "120111001", "120111001002").is_ok());
        assert_eq!(Residence::parse("120199", "120199001", "120199001002").unwrap_err().0, ResidencePart::District);
        assert_eq!(Residence::parse("120111", "120110001", "120110001002").unwrap_err().0, ResidencePart::Street);
        assert_eq!(Residence::parse("120111", "120111001", "120111002002").unwrap_err().0, ResidencePart::Community);
    }

    #[test]
    fn text_and_dates() {
        assert_eq!(text("  a  ", 1, 5).unwrap(), "a");
        assert!(text("", 1, 5).unwrap_err().0.contains("required"));
        assert!(text("abcdef", 1, 5).unwrap_err().0.contains("at most 5"));
        assert!(text("a\u{0}b", 1, 5).unwrap_err().0.contains("control"));
        assert_eq!(parse_date("2026-02-28").unwrap(), d(2026, 2, 28));
        assert!(parse_date("2026-02-29").is_err());
        assert!(parse_date("26-2-1").is_err());
        let rlo = "钱\u{202E}示例";
        assert!(text(rlo, 1, 50).is_ok(), "stored facts still read");
        assert!(input_text(rlo, 1, 50).unwrap_err().0.contains("bidirectional"));
        assert!(input("a\u{2066}b").is_err() && input("a\u{2069}").is_err() && input("\u{202A}").is_err());
        assert_eq!(input_text("阿依古丽·买买提", 1, 50).unwrap(), "阿依古丽·买买提", "a middle dot is a name's");
        assert!(input("a\u{200D}b").is_ok(), "joiners shape some scripts");
        assert!(parse_date("1899-12-31").unwrap_err().0.contains("in 1900 or later"), "the rule is named");
        assert_eq!(parse_date("1900-01-01").unwrap(), d(1900, 1, 1));
        assert!(DateRange::new(d(2026, 1, 2), d(2026, 1, 1)).is_err());
        assert!(Fen::positive(0).is_err());
        assert!(!CountyCode::parse("130102").unwrap().is_tianjin());
        assert!(CountyCode::parse("990102").is_err());
        assert_eq!(full_years_between(d(2020, 5, 1), d(2020, 4, 1)), 0);
    }

    // === cross-checks from the review of the deciders (independent computations) ===

    /// ISO 7064 MOD 11-2 written out independently of the crate's tables.
    fn independent_check(first17: &str) -> String {
        const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
        format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
    }

    /// domain.md §2.1: the check character by MOD 11-2, remainder → "10X98765432";
    /// only the due character passes, X only in the check position, 18 characters.
    #[test]
    fn resident_id_check_character_agrees_with_an_independent_mod_11_2() {
        let today = d(2026, 11, 22);
        assert_eq!(independent_check("12011119861123004"), "12011119861123004X");
        assert!(ResidentId::parse("12011119861123004x", today).is_ok(), "lower-case x");
        for c in "0123456789X".chars() {
            let s = format!("12011119861123004{c}");
            assert_eq!(ResidentId::parse(&s, today).is_ok(), c == 'X', "{s}");
        }
        assert!(ResidentId::parse("12011119861122004X", today).is_err());
        assert!(ResidentId::parse("1201111986112300X4", today).is_err());
        assert!(ResidentId::parse("12011119861123004", today).is_err());
        assert!(ResidentId::parse("12011119861123004X0", today).is_err());
    }

    /// "8-digit birth date YYYYMMDD": 1999-02-30, 2023-02-29, month 13, month 00
    /// and day 32 are no dates; 2000-02-29 is. A birth today is possible, tomorrow not.
    #[test]
    fn resident_id_birth_dates_are_real_and_not_after_today() {
        let today = d(2026, 11, 22);
        for body in
            ["12011119990230001", "12011120230229001", "12011119991301001", "12011119990100001", "12011119990132001"]
        {
            let err = ResidentId::parse(&independent_check(body), today).unwrap_err().0;
            assert!(err.contains("birth date"), "{body}: {err}");
        }
        assert!(ResidentId::parse(&independent_check("12011120000229004"), today).is_ok());
        assert!(ResidentId::parse(&independent_check("12011120261122003"), today).is_ok());
        let err = ResidentId::parse(&independent_check("12011120261123003"), today).unwrap_err().0;
        assert!(err.contains("future"), "{err}");
    }

    /// The address code's first two digits name a province (GB/T 2260): 00, 99,
    /// 10 and 20 do not. (Only the province is checked: 120000 or 129999 pass.)
    #[test]
    fn resident_id_address_codes_start_with_a_province() {
        for body in ["00011119800615003", "99011119800615003", "10011119800615003", "20011119800615003"] {
            assert!(ResidentId::parse(&independent_check(body), d(2026, 11, 22)).is_err(), "{body}");
        }
    }

    /// Sequence odd = male, even = female; a year older on the exact birthday.
    #[test]
    fn sex_follows_the_sequence_and_age_changes_on_the_birthday() {
        let id = |body: &str| ResidentId::parse(&independent_check(body), d(2026, 11, 22)).unwrap();
        assert_eq!(id("12011119800615013").gender(), Gender::Male);
        assert_eq!(id("12011119800615012").gender(), Gender::Female);
        let woman = id("12011119861122004");
        assert_eq!(woman.age_on(d(2026, 11, 21)), 39);
        assert_eq!(woman.age_on(d(2026, 11, 22)), 40);
    }

    /// Parse errors never repeat any part of the value (it is personal data),
    /// and multi-byte input never panics.
    #[test]
    fn resident_id_errors_never_repeat_any_part_of_the_value() {
        for raw in [
            "120111198006150034",
            "12011119800615003",
            "120111198006150033 1",
            "99011119800615003X",
            "120111199902300014",
            "12011120301122003X",
            "1201111980061500Y3",
        ] {
            let err = ResidentId::parse(raw, d(2026, 11, 22)).unwrap_err().0;
            assert!(!err.contains("120111") && !err.contains("1980") && !err.contains("0615"), "{raw}: {err}");
        }
        assert!(ResidentId::parse("１2011119800615003３", d(2026, 11, 22)).is_err());
        assert!(ResidentId::parse("1201111980061500３Ｘ", d(2026, 11, 22)).is_err());
    }

    /// GB 32100-2015: alphabet 0-9 A-H J-N P-R T-U W-Y (no I O Z S V), weights
    /// 3^i mod 31, check (31 − Σ mod 31) mod 31. 91350100M000100Y43 is the
    /// standard's example and 12120111000000001X was computed independently.
    #[test]
    fn credit_code_alphabet_and_check_agree_with_the_standard_example() {
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert!(CreditCode::parse("91350100m000100y43").is_ok(), "lower case is the same code");
        assert!(CreditCode::parse("91350100M000100Y44").is_err());
        assert!(CreditCode::parse("12120111000000001X").is_ok());
        for bad in ['I', 'O', 'Z', 'S', 'V'] {
            let s = format!("91350100M000100{bad}43");
            assert!(CreditCode::parse(&s).unwrap_err().0.contains("0-9 and A-H"), "{s}");
            assert!(CreditCode::parse_format(&s).is_err(), "{s}");
        }
        for good in ['A', 'H', 'J', 'N', 'P', 'R', 'T', 'U', 'W', 'Y'] {
            assert!(CreditCode::parse_format(&format!("91350100M000100{good}43")).is_ok(), "{good}");
        }
        assert!(CreditCode::parse("９１350100M000100Y43").is_err());
    }
}

//! Fixtures shared by the hand-computed scenario tests: dates, valid resident
//! ID numbers and credit codes (with their check characters).

pub mod world;

use chrono::NaiveDate;
use leye_domain::values::{CreditCode, ResidentId};

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A valid resident ID number (GB 11643 check character) for person `seq`.
pub fn resident_id(seq: u32) -> ResidentId {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first17 = format!("12011119850101{:03}", seq % 1000);
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    ResidentId::parse(&format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char), d("2026-01-01")).unwrap()
}

/// The credit code whose first 17 characters are `body`, with its GB 32100
/// check character.
pub fn credit_code(body: &str) -> CreditCode {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    CreditCode::parse(&format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)).unwrap()
}

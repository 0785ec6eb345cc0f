//! Calendar arithmetic in whole months, the unit the policies count in.
//!
//! The seeds count "满6个月" (six full months), "2年内" (within two years),
//! "最长3年" (at most three years). These helpers make the counting explicit and
//! the same everywhere.

use chrono::{Datelike, Months};
use leye_domain::Date;

/// Full calendar months from `from` to `to` (0 when `to` is before `from`).
///
/// A month is full when the day of the month is reached again: 2024-01-15 to
/// 2024-07-14 is 5 months, to 2024-07-15 is 6. A start on the 31st is full on
/// the last day of a shorter month (2024-01-31 to 2024-02-29 is 1 month).
pub fn full_months_between(from: Date, to: Date) -> u32 {
    if to <= from {
        return 0;
    }
    let total = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let mut months = u32::try_from(total).unwrap_or(0);
    if months > 0 && add_months(from, months) > to {
        months -= 1;
    }
    months
}

/// `date` plus `months`, clamped to the end of a shorter month (chrono's rule).
pub fn add_months(date: Date, months: u32) -> Date {
    // Only overflows past the year 262143: not a date this service meets.
    date.checked_add_months(Months::new(months)).unwrap_or(Date::MAX)
}

/// `date` minus `months`, clamped to the end of a shorter month.
pub fn sub_months(date: Date, months: u32) -> Date {
    date.checked_sub_months(Months::new(months)).unwrap_or(Date::MIN)
}

/// The first day of `date`'s month.
pub fn month_start(date: Date) -> Date {
    date.with_day(1).unwrap_or(date)
}

/// The last day of `date`'s month.
pub fn month_end(date: Date) -> Date {
    add_months(month_start(date), 1).pred_opt().unwrap_or(date)
}

/// The number of calendar months a range covers when it starts on a 1st and
/// ends on a month's last day; `None` otherwise (a subsidy period counts whole
/// months).
pub fn whole_months(from: Date, to: Date) -> Option<u32> {
    if from.day() != 1 || to != month_end(to) || to < from {
        return None;
    }
    let n = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
    u32::try_from(n).ok()
}

/// The first day of each month from `from`'s month to `to`'s month.
pub fn month_starts(from: Date, to: Date) -> impl Iterator<Item = Date> {
    let end = month_start(to);
    std::iter::successors(Some(month_start(from)), move |m| Some(add_months(*m, 1))).take_while(move |m| *m <= end)
}

/// A calendar month, as written in the catalogue: `"1965-01"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    /// 1..=12
    pub month: u32,
}

impl YearMonth {
    pub fn of(date: Date) -> Self {
        Self { year: date.year(), month: date.month() }
    }

    /// Parses `YYYY-MM`.
    pub fn parse(raw: &str) -> Option<Self> {
        let (y, m) = raw.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        (1..=12).contains(&month).then_some(Self { year, month })
    }

    /// Months from `self` to `later` (negative when `later` is earlier).
    pub fn months_until(self, later: Self) -> i32 {
        (later.year - self.year) * 12 + later.month as i32 - self.month as i32
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn full_months_count_the_day_of_month() {
        assert_eq!(full_months_between(d(2024, 1, 15), d(2024, 7, 14)), 5);
        assert_eq!(full_months_between(d(2024, 1, 15), d(2024, 7, 15)), 6);
        assert_eq!(full_months_between(d(2024, 1, 31), d(2024, 2, 29)), 1);
        assert_eq!(full_months_between(d(2024, 1, 31), d(2024, 2, 28)), 0);
        assert_eq!(full_months_between(d(2024, 3, 1), d(2024, 2, 1)), 0);
        assert_eq!(full_months_between(d(2020, 6, 30), d(2022, 6, 30)), 24);
    }

    #[test]
    fn whole_month_periods() {
        assert_eq!(whole_months(d(2024, 1, 1), d(2024, 12, 31)), Some(12));
        assert_eq!(whole_months(d(2024, 2, 1), d(2024, 2, 29)), Some(1));
        assert_eq!(whole_months(d(2024, 1, 2), d(2024, 12, 31)), None);
        assert_eq!(whole_months(d(2024, 1, 1), d(2024, 12, 30)), None);
        assert_eq!(month_starts(d(2024, 11, 1), d(2025, 2, 28)).count(), 4);
    }

    #[test]
    fn year_month_parses_and_counts() {
        let a = YearMonth::parse("1965-01").unwrap();
        assert_eq!(a.months_until(YearMonth::parse("1976-09").unwrap()), 140);
        assert!(YearMonth::parse("1965-13").is_none());
        assert!(YearMonth::parse("1965-1").is_none());
        assert_eq!(a.to_string(), "1965-01");
    }
}

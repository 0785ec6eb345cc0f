//! The city reports the dashboard opens with, prepared before anyone asks:
//! the server's index warm-keeper (`server.rs`, `keep_index_warm`) makes
//! and keeps their person-case sums after each load of the index and each
//! day, so that the first ask of the city's dashboard needs no walk over
//! every case (`leye_projections::ReadModel::prepare_targets`). A district's
//! or a street's report walks only its own cases; it is not prepared.

use chrono::{Datelike, Months, NaiveDate};
use leye_projections::{Jurisdiction, Period, ProjectionError, ReadModel, TargetParams};

/// The periods and as-of dates of the reports the dashboard
/// (`assets/dashboard/app.js`) opens for a jurisdiction on `today`: the
/// year to date (its default period), and each of the last 12 calendar
/// months (its trend; the current one to today); each as of the API's
/// default, its end or today if earlier.
pub fn dashboard_reports(today: NaiveDate) -> Vec<(Period, NaiveDate)> {
    let mut reports = Vec::with_capacity(13);
    let start_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let year = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    reports.extend(Period::new(year, today).ok());
    for back in (0..12).rev() {
        let Some(first) = start_of(today).checked_sub_months(Months::new(back)) else { continue };
        let last = if back == 0 {
            today
        } else {
            first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first)
        };
        reports.extend(Period::new(first, last).ok());
    }
    reports.into_iter().map(|p| (p, p.default_as_of(today))).collect()
}

/// Prepares the city's dashboard reports on `today` in `rm`, in one read
/// transaction: how many had to be walked (none when they were kept already).
pub fn prepare_city_dashboard(rm: &ReadModel, today: NaiveDate, p: &TargetParams) -> Result<usize, ProjectionError> {
    let city = Jurisdiction::city();
    rm.snapshot(|rm| {
        let mut walked = 0;
        for (period, a) in dashboard_reports(today) {
            walked += usize::from(rm.prepare_targets(&city, period, a, p)?);
        }
        Ok(walked)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_dashboard_opens_the_year_to_date_and_twelve_months_as_app_js_asks_them() {
        let r = dashboard_reports(d("2026-03-31"));
        let shown: Vec<(NaiveDate, NaiveDate, NaiveDate)> = r.iter().map(|(p, a)| (p.from, p.to, *a)).collect();
        assert_eq!(shown.len(), 13);
        assert_eq!(shown[0], (d("2026-01-01"), d("2026-03-31"), d("2026-03-31")), "the year to date");
        assert_eq!(shown[1], (d("2025-04-01"), d("2025-04-30"), d("2025-04-30")), "the trend's first month");
        assert_eq!(shown[11], (d("2026-02-01"), d("2026-02-28"), d("2026-02-28")), "February's last day");
        assert_eq!(shown[12], (d("2026-03-01"), d("2026-03-31"), d("2026-03-31")), "this month, to today");
        // Mid-month: the current month ends today; a month ends on its last day.
        let r = dashboard_reports(d("2026-12-04"));
        assert_eq!((r[12].0.from, r[12].0.to, r[12].1), (d("2026-12-01"), d("2026-12-04"), d("2026-12-04")));
        assert_eq!((r[1].0.from, r[1].0.to), (d("2026-01-01"), d("2026-01-31")));
        // On 1 January the year to date is one day.
        let r = dashboard_reports(d("2027-01-01"));
        assert_eq!((r[0].0.from, r[0].0.to), (d("2027-01-01"), d("2027-01-01")));
    }
}

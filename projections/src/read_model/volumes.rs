//! The targets that count posts, person-times and money (001 § 4, § 9; 000 §
//! 12; 003 专栏1): safety-net posts developed and the persons placed in them,
//! the local share of the people working in public-welfare posts, subsidised
//! training person-times and guarantee-loan principal. Formulas:
//! `projections/TARGETS.md`.

use chrono::NaiveDate;
use rusqlite::params;

use super::{PersonFigures, ReadModel, enterprise_level};
use crate::{
    ProjectionError,
    targets::{Jurisdiction, Period, TargetValue, count_of, rate_of},
};

fn count(id: &'static str, title: &'static str, n: i64, source: &'static str) -> TargetValue {
    TargetValue { id, title, numerator: n, denominator: None, value: n as f64, goal: "", met: None, source }
}

impl ReadModel {
    /// `welfare_posts_developed` (city and district), `welfare_post_placements`
    /// and `public_welfare_local_share`.
    pub(super) fn welfare_targets(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        persons: &PersonFigures,
    ) -> Result<Vec<TargetValue>, ProjectionError> {
        let e = period.to.min(a);
        let (from, to) = (period.from.to_string(), e.to_string());
        let mut out = Vec::new();
        if enterprise_level(j) {
            let posts: i64 = self
                .conn
                .prepare_cached(
                    "SELECT coalesce(sum(posts), 0) FROM welfare_posts
                 WHERE district >= ?1 AND district < ?1 || '~' AND developed_on >= ?2 AND developed_on <= ?3",
                )?
                .query_row(params![j.code(), from, to], |r| r.get(0))?;
            out.push(count("welfare_posts_developed", "公益性岗位和社区服务岗位 posts developed", posts, "001 § 9"));
        }
        let placed = persons.totals.counts.welfare_placed as i64;
        out.push(count_of(
            "welfare_post_placements",
            "公益性岗位和社区服务岗位 persons placed in the period",
            placed as usize,
            false,
            "",
            "001 § 9",
        ));
        // A stock on A: the people working in a public-welfare post on A.
        let (local, staff) = persons.totals.counts.public_welfare_local;
        out.push(rate_of(
            "public_welfare_local_share",
            "公益性岗位 staff with local hukou on the as-of date",
            (local, staff),
            0.8,
            "",
            "000 § 12",
        ));
        Ok(out)
    }

    /// `subsidised_training_person_times`, and `guarantee_loans_principal_fen`
    /// (city and district).
    pub(super) fn volume_targets(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        persons: &PersonFigures,
    ) -> Result<Vec<TargetValue>, ProjectionError> {
        let e = period.to.min(a);
        let (from, to) = (period.from.to_string(), e.to_string());
        let trained = persons.totals.counts.training_person_times as i64;
        let mut out = vec![count(
            "subsidised_training_person_times",
            "补贴性职业技能培训 person-times (trainings completed)",
            trained,
            "003 专栏1",
        )];
        if enterprise_level(j) {
            let lent: i64 = self
                .conn
                .prepare_cached(
                    "SELECT coalesce(sum(principal_fen), 0) FROM guarantee_loan
                 WHERE district >= ?1 AND district < ?1 || '~' AND granted_on >= ?2 AND granted_on <= ?3",
                )?
                .query_row(params![j.code(), from, to], |r| r.get(0))?;
            out.push(count("guarantee_loans_principal_fen", "创业担保贷款 principal lent (fen)", lent, "001 § 4"));
        }
        Ok(out)
    }
}

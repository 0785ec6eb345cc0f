//! Enterprise figures: batch layoffs and the services after them (000 § 3),
//! internship posts (001 § 8), at city and district level only.

use chrono::NaiveDate;

use super::*;

/// Enterprise figures exist for the city and a district only: an enterprise
/// has a district but no street or community.
pub(super) fn enterprise_level(j: &Jurisdiction) -> bool {
    matches!(j.level(), Level::City | Level::District)
}

impl ReadModel {
    /// Batch layoffs of enterprises in `j` reported by `a`, with the services
    /// given after them dated by `a`. Empty below district level.
    pub fn batch_layoffs(&self, j: &Jurisdiction, a: NaiveDate) -> Result<Vec<LayoffRow>, ProjectionError> {
        if !enterprise_level(j) {
            return Ok(Vec::new());
        }
        let a_text = a.to_string();
        let mut stmt = self.conn.prepare_cached(
            "SELECT case_id, layoff_id, people, reported_on, district FROM batch_layoff
             WHERE district >= ?1 AND district < ?1 || '~' AND reported_on <= ?2 ORDER BY case_id, layoff_id",
        )?;
        let rows = stmt.query_map(params![j.code(), a_text], |r| {
            Ok(LayoffRow {
                case_id: r.get(0)?,
                layoff_id: r.get(1)?,
                people: r.get(2)?,
                reported_on: date(r.get(3)?)?,
                district: r.get(4)?,
                services: Vec::new(),
            })
        })?;
        let mut layoffs: Vec<LayoffRow> = rows.collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.case_id, s.layoff_id, s.service, s.provided_on
             FROM layoff_service s JOIN batch_layoff l USING (case_id, layoff_id)
             WHERE l.district >= ?1 AND l.district < ?1 || '~' AND l.reported_on <= ?2 AND s.provided_on <= ?2",
        )?;
        let mut services: HashMap<(String, String), Vec<(String, NaiveDate)>> = HashMap::new();
        let mut rows = stmt.query(params![j.code(), a_text])?;
        while let Some(r) = rows.next()? {
            services.entry((r.get(0)?, r.get(1)?)).or_default().push((r.get(2)?, date(r.get(3)?)?));
        }
        for l in &mut layoffs {
            if let Some(mut s) = services.remove(&(l.case_id.clone(), l.layoff_id.clone())) {
                s.sort();
                l.services = s;
            }
        }
        Ok(layoffs)
    }

    /// Batch layoffs of 20 or more reported in `period` still lacking a
    /// service on `a` ([`targets::unserved_layoffs`]).
    pub fn unserved_layoffs(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<UnservedLayoffRow>, ProjectionError> {
        Ok(targets::unserved_layoffs(&self.batch_layoffs(j, a)?, period, a, p.batch_layoff_service_days))
    }

    /// `batch_layoffs_20_followed`, `batch_layoffs_40_followed` and
    /// `internship_posts` for the city or a district.
    pub(super) fn enterprise_targets(
        &self,
        j: &Jurisdiction,
        period: Period,
        a: NaiveDate,
        p: &TargetParams,
    ) -> Result<Vec<TargetValue>, ProjectionError> {
        let e = period.to.min(a);
        let (twenty, forty) =
            targets::batch_layoffs_followed(&self.batch_layoffs(j, a)?, period, e, p.batch_layoff_service_days);
        let posts: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(sum(posts), 0) FROM internship_offer
             WHERE district >= ?1 AND district < ?1 || '~' AND offered_on >= ?2 AND offered_on <= ?3",
            )?
            .query_row(params![j.code(), period.from.to_string(), e.to_string()], |r| r.get(0))?;
        Ok(vec![
            rate_of(
                "batch_layoffs_20_followed",
                "批量退工减员 20人以上: a service within the deadline (实时预警、动态跟踪、主动服务)",
                twenty,
                1.0,
                "every one",
                "000 § 3",
            ),
            rate_of(
                "batch_layoffs_40_followed",
                "批量退工减员 40人以上: skills training and a job fair within the deadline (技能培训、专场招聘)",
                forty,
                1.0,
                "every one",
                "000 § 3",
            ),
            TargetValue {
                id: "internship_posts",
                title: "见习岗位 internship posts offered",
                numerator: posts,
                denominator: None,
                value: posts as f64,
                goal: "≥ 2 000 / year (Xiqing)",
                met: Some(posts >= 2000),
                source: "001 § 8",
            },
        ])
    }
}

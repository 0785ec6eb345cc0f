//! Folds enterprise (用人单位) streams, `enterprise-<case id>`, into the
//! enterprise tables: the enterprise, its batch layoffs and the services given
//! after them, its internship posts, the public-welfare and community-service
//! posts it develops, its guarantee loans and the subsidies granted on its case.
//!
//! Called by [`crate::projector`] inside the batch's transaction, so these rows
//! move with the checkpoint like every other. An enterprise has a district but
//! no street or community: every row carries the enterprise's district (the
//! event metadata's), and enterprise figures count at city and district level
//! only. No enterprise name is kept (a sole proprietorship's name may be a
//! person's name).

use leye_domain::{
    enterprise::{EnterpriseEvent, EnterpriseFact},
    person::Payee,
};
use rusqlite::params;

use crate::{
    ProjectionError,
    decoded::Meta,
    projector::{Fold, iso, name},
};

/// Folds one event of the enterprise case `case_id`.
pub(crate) fn apply_one(
    f: &mut Fold<'_>,
    case_id: &str,
    metadata: &Meta,
    event: &EnterpriseEvent,
) -> Result<(), ProjectionError> {
    let on = iso(event.effective_date);
    let district = metadata.district.as_str();
    match &event.fact {
        EnterpriseFact::Registered(reg) => {
            let kinds: Vec<_> = reg.kinds.iter().map(name).collect();
            f.stmt(
                "INSERT INTO enterprise (case_id, credit_code, district, industry_code, registered_on,
                                         insured_employees, small_micro, kinds)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                case_id,
                reg.credit_code.as_str(),
                reg.district.as_str(),
                reg.industry_code,
                on,
                reg.insured_employees,
                reg.small_micro,
                kinds.join(","),
            ])?;
        }
        EnterpriseFact::DesignatedKeyEnterprise => {
            f.stmt("UPDATE enterprise SET key_enterprise_on = ?2 WHERE case_id = ?1 AND key_enterprise_on IS NULL")?
                .execute(params![case_id, on])?;
        }
        EnterpriseFact::BatchLayoffReported(l) => {
            f.stmt(
                "INSERT INTO batch_layoff (case_id, layoff_id, people, reported_on, district)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![case_id, l.layoff_id, l.people.get(), on, district])?;
        }
        EnterpriseFact::LayoffServiceProvided(s) => {
            f.stmt("INSERT INTO layoff_service (case_id, layoff_id, service, provided_on) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![case_id, s.layoff_id, name(&s.service), on])?;
        }
        EnterpriseFact::InternshipPostsOffered(o) => {
            f.stmt(
                "INSERT INTO internship_offer (case_id, offer_id, posts, offered_on, district)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![case_id, o.offer_id, o.posts.get(), on, district])?;
        }
        EnterpriseFact::WelfarePostsDeveloped(w) => {
            f.stmt(
                "INSERT INTO welfare_posts (case_id, development_id, kind, posts, developed_on, district)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![case_id, w.development_id, name(&w.kind), w.posts.get(), on, district])?;
        }
        EnterpriseFact::GuaranteeLoanGranted(l) => {
            f.stmt(
                "INSERT INTO guarantee_loan (case_id, loan_id, borrower, principal_fen, lender, term_months,
                                             granted_on, district)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                case_id,
                l.loan_id,
                name(&l.borrower),
                l.principal.get(),
                l.lender,
                l.term_months,
                on,
                district
            ])?;
        }
        EnterpriseFact::SubsidyGranted(g) => {
            let payee = match g.payee {
                Payee::Person => "person",
                Payee::Enterprise(_) => "enterprise",
                Payee::TrainingProvider(_) => "training_provider",
            };
            f.stmt(
                "INSERT INTO enterprise_subsidy (case_id, subsidy_id, programme, amount_fen, period_from, period_to,
                                                 payee_kind, policy_clause, granted_on, district)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                case_id,
                g.subsidy_id,
                g.programme,
                g.amount.get(),
                iso(g.period.from),
                iso(g.period.to),
                payee,
                g.policy_clause,
                on,
                district,
            ])?;
        }
        EnterpriseFact::SubsidyRevoked(r) => {
            f.stmt("UPDATE enterprise_subsidy SET revoked_on = ?3 WHERE case_id = ?1 AND subsidy_id = ?2")?
                .execute(params![case_id, r.subsidy_id, on])?;
        }
        EnterpriseFact::EligibilityFound(found) => {
            // As for persons (crate::projector); an enterprise has no street or
            // community: the district stands for both, so the row shows at city
            // and district level.
            let reasons = serde_json::to_string(&found.reasons).unwrap_or_default();
            f.stmt(
                "INSERT OR IGNORE INTO eligibility (case_id, case_kind, rule_id, rule_valid_from, programme, clause,
                                                   reasons, amount_fen, found_on, district, street, community)
                 VALUES (?1, 'enterprise', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '', ?9)",
            )?
            .execute(params![
                case_id,
                found.rule_id,
                iso(found.rule_valid_from),
                found.programme,
                found.clause,
                reasons,
                found.amount.map(|a| a.get()),
                on,
                district,
            ])?;
        }
        // Headcounts, hires and their links, layoff plans, labour shortages,
        // subsidy proposals and their review: no target or analyst's table
        // needs them yet. (A grant counts when `SubsidyGranted` is recorded,
        // also when it follows an approved proposal.) A new fact a target
        // needs gets its own arm above.
        _ => {}
    }
    Ok(())
}

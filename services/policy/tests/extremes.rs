//! No input from outside makes an evaluation panic: every rule of the shipped
//! catalogue, in every district, with the largest and smallest values a
//! request can carry (the gRPC edge accepts any u32 / positive i64 / date).

mod common;

use common::{d, fen, person};
use leye_domain::values::{DateRange, DistrictCode, Fen, Gender};
use leye_policy::{
    BusinessFacts, Catalogue, EnterpriseFacts, Facts, GrantRequest, LoanFacts, PayeeKind, PersonFacts, PriorGrant,
};

fn facts(p: PersonFacts) -> Facts {
    Facts {
        person: Some(p),
        enterprise: Some(EnterpriseFacts {
            insured_employees: u32::MAX,
            insured_months: u32::MAX,
            layoffs: u32::MAX,
            new_hires: u32::MAX,
            new_hires_local_hukou: u32::MAX,
            ..EnterpriseFacts::default()
        }),
        attested: Default::default(),
        prior_grants: vec![PriorGrant {
            programme: "x".into(),
            rule_id: None,
            amount: Some(fen(i64::MAX)),
            period: DateRange::new(d("0001-01-01"), d("9999-12-31")).unwrap(),
            granted_on: d("0001-01-01"),
        }],
    }
}

#[test]
fn extreme_requests_are_decided_without_panicking() {
    let catalogue = Catalogue::shipped().unwrap();
    let mut p = person();
    p.insured_months = Some(u32::MAX);
    p.public_welfare_placements = u32::MAX;
    p.business = Some(BusinessFacts { registered_on: d("0001-01-01"), employees: u32::MAX, district: None });
    let born_early = PersonFacts { birth_date: d("0001-01-01"), gender: Gender::Female, ..p.clone() };
    let born_late = PersonFacts { birth_date: d("9999-12-31"), ..p.clone() };
    let periods = [
        None,
        DateRange::new(d("0001-01-01"), d("9999-12-31")).ok(),
        DateRange::new(d("2026-02-28"), d("2026-02-28")).ok(),
    ];
    let mut decided = 0usize;
    for code in ["120101", "120111", "120116"] {
        let district = DistrictCode::parse(code).unwrap();
        for rule in catalogue.rules() {
            for on in [d("0001-01-01"), rule.valid_from, d("9999-12-31")] {
                for who in [&p, &born_early, &born_late] {
                    let _ = catalogue.find_eligible(&facts(who.clone()), &district, on);
                    for (period, payee) in
                        periods.iter().zip([PayeeKind::Person, PayeeKind::Enterprise, PayeeKind::TrainingProvider])
                    {
                        let mut r = GrantRequest::new(rule.id.clone(), district.clone(), on, payee);
                        r.amount = Fen::positive(i64::MAX).ok();
                        r.period = *period;
                        r.units = Some(u32::MAX);
                        r.base = Fen::positive(i64::MAX).ok();
                        r.loan = Some(LoanFacts { principal: fen(i64::MAX), months: u32::MAX, contract_date: on });
                        let decision = catalogue.evaluate(&r, &facts(who.clone()));
                        assert!(!decision.checks.is_empty() || decision.rule.is_none());
                        decided += 1;
                    }
                }
            }
        }
    }
    assert!(decided > 1000, "{decided} decisions");
}

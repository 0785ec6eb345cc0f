//! Zero-employment households (零就业家庭) from the index: the households
//! of the cases with a zero-employment signal, each judged by
//! [`targets::household_status`] from its members' rows as known on the
//! as-of date, exactly the rows the SQL of `ReadModel::household` reads
//! (a member's employment: [`CaseView::employment`](crate::facts::CaseView::employment)).

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

use super::CaseIndex;
use crate::{
    facts::{CaseNo, HouseholdNo},
    read_model::HouseholdRow,
    targets::{self, Facts, MemberRow, TargetParams},
};

impl CaseIndex {
    /// Zero-employment households not cleared on `a` with a member on `a`
    /// living in `J`, ordered by the start of the current stretch, then id.
    /// Only a household with a signal of a member dated by `a`, within a
    /// membership joined by `a`, can be identified: those are the ones read.
    pub fn zero_employment_households(&self, f: &Facts<'_>, a: NaiveDate, p: &TargetParams) -> Vec<HouseholdRow> {
        let mut candidates: BTreeSet<HouseholdNo> = BTreeSet::new();
        for &c in &self.signal_cases {
            let facts = self.cases.case(c);
            if facts.zero_employment_signals().first().is_some_and(|s| *s <= a) {
                candidates.extend(facts.memberships().iter().filter(|m| m.joined_on <= a).map(|m| m.household));
            }
        }
        let mut rows = Vec::new();
        for h in candidates {
            // A member living in `J` is needed (checked exactly below): skip
            // the households of other places before building their rows.
            if !self.members[h as usize].iter().any(|c| f.lives_in_j(*c, a)) {
                continue;
            }
            // A member on `a` (with a `person` row, as listed) employed on
            // `a` (a placement, or an exit as employed) makes the household
            // employed on `a`, whatever else `household_status` finds: most
            // households are passed over here, before their rows are built.
            if self.members[h as usize].iter().any(|c| self.employed_member_on(h, *c, a)) {
                continue;
            }
            let members = self.member_rows(h, a);
            if !members.iter().any(|m| m.0.member_on(a) && f.lives_in_j(m.1, a)) {
                continue;
            }
            let members: Vec<MemberRow> = members.into_iter().map(|m| m.0).collect();
            let (signals, employment) = self.member_facts(h, a);
            let status = targets::household_status(&members, &signals, &employment, a);
            let (Some(identified_on), Some(since), true) = (status.identified_on, status.since, status.zero_employment)
            else {
                continue;
            };
            let communities: BTreeSet<String> =
                members.iter().filter(|m| m.member_on(a)).map(|m| m.community.clone()).collect();
            let days = (a - since).num_days();
            rows.push(HouseholdRow {
                household_id: self.households[h as usize].clone(),
                identified_on,
                since,
                days_outstanding: days,
                overdue: days > i64::from(p.zero_employment_clearance_days),
                communities: communities.into_iter().collect(),
            });
        }
        rows.sort_by(|x, y| (x.since, &x.household_id).cmp(&(y.since, &y.household_id)));
        rows
    }

    /// Case `c` is a listed member of `h` on `a`, employed on `a`
    /// ([`CaseView::employment`](crate::facts::CaseView::employment): start
    /// inclusive, end exclusive).
    fn employed_member_on(&self, h: HouseholdNo, c: CaseNo, a: NaiveDate) -> bool {
        let facts = self.cases.case(c);
        facts.home().is_some()
            && facts
                .memberships()
                .iter()
                .any(|m| m.household == h && m.joined_on <= a && m.left_on.is_none_or(|l| l > a))
            && facts.employment(a).any(|(from, until)| from <= a && until.is_none_or(|u| u > a))
    }

    /// Every membership of `h` joined by `a` (a later leave not known yet),
    /// with its case, ordered by joining day, case id and membership number.
    fn member_rows(&self, h: HouseholdNo, a: NaiveDate) -> Vec<(MemberRow, CaseNo)> {
        let mut rows: Vec<(NaiveDate, &str, usize, MemberRow, CaseNo)> = Vec::new();
        for &c in &self.members[h as usize] {
            let facts = self.cases.case(c);
            // As the SQL joins `person`: a member without one is not listed.
            let Some(home) = facts.home() else { continue };
            for (no, m) in facts.memberships().iter().enumerate() {
                if m.household != h || m.joined_on > a {
                    continue;
                }
                let row = MemberRow {
                    household_id: self.households[h as usize].clone(),
                    case_id: self.case_ids[c as usize].clone(),
                    relation: self.relations.get(m.relation as usize).cloned().unwrap_or_default(),
                    joined_on: m.joined_on,
                    left_on: m.left_on.filter(|l| *l <= a),
                    community: self.places[facts.home_on(a).unwrap_or(home) as usize].clone(),
                };
                rows.push((m.joined_on, &self.case_ids[c as usize], no, row, c));
            }
        }
        rows.sort_by(|x, y| (x.0, x.1, x.2).cmp(&(y.0, y.1, y.2)));
        rows.into_iter().map(|r| (r.3, r.4)).collect()
    }

    /// The zero-employment signals dated by `a` and the employment known on
    /// `a` ([`CaseView::employment`](crate::facts::CaseView::employment):
    /// placements, exits as employed) of the cases with a membership of `h`
    /// joined by `a`.
    #[allow(clippy::type_complexity)]
    fn member_facts(
        &self,
        h: HouseholdNo,
        a: NaiveDate,
    ) -> (HashMap<String, Vec<NaiveDate>>, HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>>) {
        let (mut signals, mut employment) = (HashMap::new(), HashMap::new());
        for &c in &self.members[h as usize] {
            let facts = self.cases.case(c);
            if !facts.memberships().iter().any(|m| m.household == h && m.joined_on <= a) {
                continue;
            }
            let id = &self.case_ids[c as usize];
            let dated: Vec<NaiveDate> = facts.zero_employment_signals().iter().copied().filter(|s| *s <= a).collect();
            if !dated.is_empty() {
                signals.insert(id.clone(), dated);
            }
            let stretches: Vec<(NaiveDate, Option<NaiveDate>)> = facts.employment(a).collect();
            if !stretches.is_empty() {
                employment.insert(id.clone(), stretches);
            }
        }
        (signals, employment)
    }
}

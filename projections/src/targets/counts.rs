//! Person-case counts over compact rows: difficulty persons employed,
//! start-up trainees, interns, persons placed in safety-net posts, the local
//! share of public-welfare staff, training person-times. Formulas:
//! `projections/TARGETS.md`. Each takes the cases to look at (any superset
//! of the cases with a row in `J`); rows outside `J` are passed over here.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::{Facts, Period, count, tally};
use crate::facts::{CaseNo, CaseSet, Placement, PlacementKind};

/// 其他就业困难人员就业率 (001 § 9): persons living in `J` on `E` recognised
/// with employment difficulty in a category other than zero-employment
/// household (a recognition listing that category and another counts for the
/// other), recognised by `E` and valid at some time in `[F, E]`; employed: a
/// placement current on a day of `[F, E]`: started by `E` and not ended on
/// or before `F` (an end after `A` is not known).
/// `(employed, recognised)`.
pub fn difficulty_employment(f: &Facts<'_>, cases: &[CaseNo], period: Period, a: NaiveDate) -> (usize, usize) {
    tally(cases.iter().map(|c| difficulty_of(f, *c, period, a)))
}

/// [`difficulty_employment`] for one case: `None` when not in the
/// denominator, else whether employed.
fn difficulty_of(f: &Facts<'_>, c: CaseNo, period: Period, a: NaiveDate) -> Option<bool> {
    let e = period.to.min(a);
    let facts = f.case(c);
    // A period not begun on its as-of date (`E < F`) holds no day.
    if e < period.from || facts.recognitions().is_empty() || !f.lives_in_j(c, e) {
        return None;
    }
    let valid =
        facts.recognitions().iter().any(|r| r.recognised_on <= e && r.valid_from <= e && r.valid_to >= period.from);
    // Current on a day of [F, E]: started by that day, not ended on or
    // before it (an end is over on its day).
    valid.then(|| {
        facts
            .placements()
            .iter()
            .any(|p| p.started_on <= e && p.ended_on.filter(|x| *x <= a).is_none_or(|x| x > period.from))
    })
}

/// 马兰花 start-up trainees (001 § 7): persons enrolled in `start_up_malanhua`
/// in `[F, E]`, in a community of `J` at enrolment.
pub fn start_up_trainees(f: &Facts<'_>, cases: &[CaseNo], period: Period, e: NaiveDate) -> usize {
    cases.iter().filter(|c| start_up_trainee(f, **c, period, e)).count()
}

fn start_up_trainee(f: &Facts<'_>, c: CaseNo, period: Period, e: NaiveDate) -> bool {
    f.case(c)
        .trainings()
        .iter()
        .any(|t| t.start_up && f.place_in_j(t.community) && period.from <= t.enrolled_on && t.enrolled_on <= e)
}

/// Persons with a placement of a kind `kinds` accepts started in `[F, E]`,
/// in a community of `J` at its start: interns (见习, 001 § 8), persons placed
/// in public-welfare or community-service posts (001 § 9).
pub fn placed_in(
    f: &Facts<'_>,
    cases: &[CaseNo],
    period: Period,
    e: NaiveDate,
    kinds: impl Fn(PlacementKind) -> bool,
) -> usize {
    cases.iter().filter(|c| placed_of(f, **c, period, e, &kinds)).count()
}

fn placed_of(f: &Facts<'_>, c: CaseNo, period: Period, e: NaiveDate, kinds: &impl Fn(PlacementKind) -> bool) -> bool {
    f.case(c).placements().iter().any(|p| kinds(p.kind) && started_in(f, p, period, e))
}

/// Placement `p` started in `[F, E]`, in a community of `J` at its start.
fn started_in(f: &Facts<'_>, p: &Placement, period: Period, e: NaiveDate) -> bool {
    f.place_in_j(p.community) && period.from <= p.started_on && p.started_on <= e
}

/// Interns (见习, 001 § 8).
pub fn intern(k: PlacementKind) -> bool {
    k == PlacementKind::Internship
}

/// Safety-net posts: public-welfare or community-service (001 § 9).
pub fn safety_net_post(k: PlacementKind) -> bool {
    matches!(k, PlacementKind::PublicWelfarePost | PlacementKind::CommunityServicePost)
}

/// 公益性岗位 staff on `A` (000 § 12): persons with a public-welfare placement
/// current on `A` started in a community of `J`; local: of them, those whose
/// hukou county is the placement's district. `(local, staff)`.
pub fn public_welfare_local_share(f: &Facts<'_>, cases: &[CaseNo], a: NaiveDate) -> (usize, usize) {
    let (mut staff, mut local) = (CaseSet::default(), CaseSet::default());
    for &c in cases {
        if let Some(is_local) = public_welfare_staff(f, c, a) {
            staff.insert(c);
            if is_local {
                local.insert(c);
            }
        }
    }
    (local.len(), staff.len())
}

/// [`public_welfare_local_share`] for one case: `None` when not staff on
/// `A`, else whether local (by any of its current placements).
fn public_welfare_staff(f: &Facts<'_>, c: CaseNo, a: NaiveDate) -> Option<bool> {
    let mut current = f.case(c).placements().iter().filter(|p| staff_on(f, p, a)).peekable();
    current.peek()?;
    Some(current.any(|p| p.local))
}

/// Placement `p` makes its person 公益性岗位 staff on `A`: a public-welfare
/// post current on `A`, started in a community of `J`.
fn staff_on(f: &Facts<'_>, p: &Placement, a: NaiveDate) -> bool {
    p.kind == PlacementKind::PublicWelfarePost && f.place_in_j(p.community) && p.current_on(a, a)
}

/// 补贴性职业技能培训 person-times (003 专栏1): trainings completed in `[F, E]`,
/// in a community of `J` at enrolment (every completion counts).
pub fn training_person_times(f: &Facts<'_>, cases: &[CaseNo], period: Period, e: NaiveDate) -> usize {
    cases.iter().map(|c| completions(f, *c, period, e)).sum()
}

fn completions(f: &Facts<'_>, c: CaseNo, period: Period, e: NaiveDate) -> usize {
    f.case(c)
        .trainings()
        .iter()
        .filter(|t| f.place_in_j(t.community) && t.completed_on.is_some_and(|d| period.from <= d && d <= e))
        .count()
}

/// 补贴 granted (001 § 4), person-case grants: grants in a community of `J`
/// granted in `[F, E]` and not revoked on `A`, by (programme, year granted,
/// district) as numbered in the grants: `(grants, fen)` each.
pub fn grant_totals(
    f: &Facts<'_>,
    cases: &[CaseNo],
    period: Period,
    a: NaiveDate,
) -> BTreeMap<(u16, i32, u16), (i64, i64)> {
    let mut totals = BTreeMap::new();
    for &c in cases {
        add_grants(f, c, period, a, &mut totals);
    }
    totals
}

pub(crate) fn add_grants(
    f: &Facts<'_>,
    c: CaseNo,
    period: Period,
    a: NaiveDate,
    totals: &mut BTreeMap<(u16, i32, u16), (i64, i64)>,
) {
    let e = period.to.min(a);
    for g in f.case(c).grants().iter() {
        let counted = f.place_in_j(g.community)
            && period.from <= g.granted_on
            && g.granted_on <= e
            && g.revoked_on.is_none_or(|r| r > a);
        if counted {
            let t = totals.entry((g.programme, g.granted_on.year(), g.district)).or_default();
            t.0 += 1;
            t.1 += g.amount_fen;
        }
    }
}

/// The counts of this module for one report, in one walk over `cases`
/// (each case once): the same per-case rules as the functions above.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CaseCounts {
    pub difficulty: (usize, usize),
    pub start_up_trainees: usize,
    pub interns: usize,
    pub welfare_placed: usize,
    /// `(local, staff)`.
    pub public_welfare_local: (usize, usize),
    pub training_person_times: usize,
    pub grants: BTreeMap<(u16, i32, u16), (i64, i64)>,
}

/// [`CaseCounts`] of `cases` for `J` over `period` as of `a`.
pub fn case_counts(f: &Facts<'_>, cases: &[CaseNo], period: Period, a: NaiveDate) -> CaseCounts {
    let mut n = CaseCounts::default();
    for &c in cases {
        n.add(f, c, period, a);
    }
    n
}

impl CaseCounts {
    /// Counts case `c`. A walk over the city calls this for every case, and
    /// most have no row of the kind a count reads: each kind is looked at
    /// only when the case has one.
    pub fn add(&mut self, f: &Facts<'_>, c: CaseNo, period: Period, a: NaiveDate) {
        let e = period.to.min(a);
        let facts = f.case(c);
        if !facts.recognitions().is_empty() {
            count(&mut self.difficulty, difficulty_of(f, c, period, a));
        }
        if !facts.trainings().is_empty() {
            self.start_up_trainees += usize::from(start_up_trainee(f, c, period, e));
            self.training_person_times += completions(f, c, period, e);
        }
        if !facts.placements().is_empty() {
            // `placed_of` with `intern` and with `safety_net_post`, and
            // `public_welfare_staff`, in one pass over the placements.
            let (mut interned, mut safety_net, mut staff, mut local) = (false, false, false, false);
            for p in facts.placements() {
                if started_in(f, p, period, e) {
                    interned |= intern(p.kind);
                    safety_net |= safety_net_post(p.kind);
                }
                if staff_on(f, p, a) {
                    staff = true;
                    local |= p.local;
                }
            }
            self.interns += usize::from(interned);
            self.welfare_placed += usize::from(safety_net);
            count(&mut self.public_welfare_local, staff.then_some(local));
        }
        if !facts.grants().is_empty() {
            add_grants(f, c, period, a, &mut self.grants);
        }
    }
}

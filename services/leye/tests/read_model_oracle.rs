//! The read model's query path against the definitions.
//!
//! A generated population (bulk path, a few hundred persons) is rebuilt into a
//! read model. For every jurisdiction level (city, districts, streets,
//! communities), several periods and several as-of dates, the answers of
//! [`ReadModel`] (indexed range selections in SQL) must equal the target
//! functions of `leye_projections::targets` (the definitions) applied to
//! **every** row of the tables, read with a bare `SELECT` and filtered in Rust
//! by [`Jurisdiction::contains`] and the as-of date. Whatever the query path
//! does to be fast (indexes, ranges, narrower lookups), it must not change an
//! answer.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::Path,
    sync::Arc,
};

use chrono::{Months, NaiveDate, Utc};
use leye::{
    cases::PersonCases,
    generate::{GeneratorConfig, generate},
    identity::CaseIds,
};
use leye_projections::{
    Jurisdiction, Period, ReadModel, TargetParams,
    runner::{self, ReadModelDir},
    targets::{self, PlacementRow, SpellRow},
};
use leye_store::{SqliteStore, SqliteStoreOptions};
use rusqlite::Connection;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A stored spell: (case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community).
type StoredSpell = (String, i64, String, Option<String>, Option<String>, Option<String>, String);

/// Every row the definitions read, as stored (before any as-of cut).
struct Tables {
    /// (case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community)
    spells: Vec<StoredSpell>,
    /// (case_id, kind, started_on, ended_on, community)
    placements: Vec<(String, String, String, Option<String>, String)>,
    contacts: Vec<(String, String)>,
    /// (case_id, recommended_on, two_way)
    recommendations: Vec<(String, String, bool)>,
    /// (case_id, programme, enrolled_on, community)
    trainings: Vec<(String, String, String, String)>,
    /// case_id → community of the latest registration
    home: HashMap<String, String>,
    /// (case_id, grp, since)
    groups: Vec<(String, String, String)>,
    /// (household_id, case_id, membership_no, relation, joined_on, left_on)
    memberships: Vec<(String, String, i64, String, String, Option<String>)>,
    /// Zero-employment signals: (case_id, date) of a recognition in that
    /// category or a registration listing the group.
    signals: Vec<(String, String)>,
}

/// Every row `sql` selects, read by `row`.
fn all<T, C: FromIterator<T>>(
    c: &Connection,
    sql: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> C {
    c.prepare(sql).unwrap().query_map([], row).unwrap().map(Result::unwrap).collect()
}

fn all_rows(db: &Path) -> Tables {
    let c = Connection::open(db).unwrap();
    let spells = all(
        &c,
        "SELECT case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community FROM spell",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
    );
    let placements = all(&c, "SELECT case_id, kind, started_on, ended_on, community FROM placement", |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    });
    let contacts = all(&c, "SELECT case_id, contacted_on FROM contact", |r| Ok((r.get(0)?, r.get(1)?)));
    let recommendations = all(&c, "SELECT case_id, recommended_on, two_way FROM recommendation", |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    });
    let trainings = all(&c, "SELECT case_id, programme, enrolled_on, community FROM training", |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    });
    let home = all(&c, "SELECT case_id, community FROM person", |r| Ok((r.get(0)?, r.get(1)?)));
    let groups = all(&c, "SELECT case_id, grp, since FROM person_group", |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
    let memberships = all(
        &c,
        "SELECT household_id, case_id, membership_no, relation, joined_on, left_on FROM household_membership",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
    );
    let signals = all(
        &c,
        "SELECT case_id, recognised_on FROM difficulty WHERE zero_employment = 1
         UNION ALL SELECT case_id, registered_on FROM spell WHERE zero_employment_group = 1",
        |r| Ok((r.get(0)?, r.get(1)?)),
    );
    Tables { spells, placements, contacts, recommendations, trainings, home, groups, memberships, signals }
}

/// Zero-employment households of `j` not cleared on `a`, by the definition
/// (`targets::household_status` over every household with a member on `a`
/// living in `j`): (household, identified on, since).
fn households(t: &Tables, j: &Jurisdiction, a: NaiveDate) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut members: BTreeMap<&str, Vec<targets::MemberRow>> = BTreeMap::new();
    for m in t.memberships.iter().filter(|m| date(&m.4) <= a) {
        members.entry(&m.0).or_default().push(targets::MemberRow {
            household_id: m.0.clone(),
            case_id: m.1.clone(),
            relation: m.3.clone(),
            joined_on: date(&m.4),
            left_on: m.5.as_deref().map(date).filter(|l| *l <= a),
            community: t.home.get(&m.1).cloned().unwrap_or_default(),
        });
    }
    let signals = t.dates(t.signals.iter().filter(|s| date(&s.1) <= a).map(|s| (s.0.clone(), date(&s.1))));
    let mut placements: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>> = HashMap::new();
    for p in t.placements(a, |_| true) {
        placements.entry(p.case_id).or_default().push((p.started_on, p.ended_on));
    }
    let mut out = Vec::new();
    for (household, mut rows) in members {
        if !rows.iter().any(|m| m.member_on(a) && j.contains(&m.community)) {
            continue;
        }
        rows.sort_by(|x, y| (x.joined_on, &x.case_id).cmp(&(y.joined_on, &y.case_id)));
        let status = targets::household_status(&rows, &signals, &placements, a);
        if let (true, Some(identified), Some(since)) = (status.zero_employment, status.identified_on, status.since) {
            out.push((household.to_string(), identified, since));
        }
    }
    out
}

impl Tables {
    /// Spells registered in `j` by `a`, as known on `a`, in (case, spell) order.
    fn spells(&self, j: &Jurisdiction, a: NaiveDate, in_j: impl Fn(&str, &str) -> bool) -> Vec<SpellRow> {
        let mut rows: Vec<_> = self
            .spells
            .iter()
            .filter(|s| in_j(&s.0, &s.6) && date(&s.2) <= a)
            .map(|s| {
                let ended_on = s.3.as_deref().map(date).filter(|e| *e <= a);
                (
                    (s.0.clone(), s.1),
                    SpellRow {
                        case_id: s.0.clone(),
                        registered_on: date(&s.2),
                        ended_on,
                        end_kind: ended_on.and(s.4.clone()),
                        exit_reason: ended_on.and(s.5.clone()),
                        community: s.6.clone(),
                    },
                )
            })
            .collect();
        let _ = j;
        rows.sort_by(|x, y| x.0.cmp(&y.0));
        rows.into_iter().map(|(_, r)| r).collect()
    }

    fn placements(&self, a: NaiveDate, of: impl Fn(&str) -> bool) -> Vec<PlacementRow> {
        self.placements
            .iter()
            .filter(|p| of(&p.0) && date(&p.2) <= a)
            .map(|p| PlacementRow {
                case_id: p.0.clone(),
                kind: p.1.clone(),
                started_on: date(&p.2),
                ended_on: p.3.as_deref().map(date).filter(|e| *e <= a),
                community: p.4.clone(),
            })
            .collect()
    }

    fn lives_in(&self, j: &Jurisdiction, case_id: &str) -> bool {
        self.home.get(case_id).is_some_and(|c| j.contains(c))
    }

    fn dates(&self, rows: impl Iterator<Item = (String, NaiveDate)>) -> HashMap<String, Vec<NaiveDate>> {
        let mut out: HashMap<String, Vec<NaiveDate>> = HashMap::new();
        for (case, d) in rows {
            out.entry(case).or_default().push(d);
        }
        out
    }

    fn contacts(&self, j: &Jurisdiction, a: NaiveDate) -> HashMap<String, Vec<NaiveDate>> {
        self.dates(
            self.contacts
                .iter()
                .filter(|c| self.lives_in(j, &c.0) && date(&c.1) <= a)
                .map(|c| (c.0.clone(), date(&c.1))),
        )
    }

    fn two_way(&self, j: &Jurisdiction, a: NaiveDate) -> HashMap<String, Vec<NaiveDate>> {
        self.dates(
            self.recommendations
                .iter()
                .filter(|r| r.2 && self.lives_in(j, &r.0) && date(&r.1) <= a)
                .map(|r| (r.0.clone(), date(&r.1))),
        )
    }
}

/// The figures of the definitions, by target id, as `(numerator, denominator)`.
fn oracle(
    t: &Tables,
    j: &Jurisdiction,
    period: Period,
    a: NaiveDate,
    p: &TargetParams,
) -> BTreeMap<String, (i64, i64)> {
    let e = period.to.min(a);
    let spells = t.spells(j, a, |_, c| j.contains(c));
    let registered_in_j: HashSet<&str> = t.spells.iter().filter(|s| j.contains(&s.6)).map(|s| s.0.as_str()).collect();
    let placements = t.placements(a, |c| registered_in_j.contains(c));
    let contacts = t.contacts(j, a);
    let mut out = BTreeMap::new();
    let mut put = |id: &str, (n, d): (usize, usize)| {
        out.insert(id.to_string(), (n as i64, d as i64));
    };
    put("reemployment_rate", targets::reemployment(&spells, &placements, period, e));
    let long = targets::long_term(&spells, a, p);
    let lt = long.iter().filter(|r| r.status == "long_term").count();
    put("long_term_unemployed", (lt, 0));
    put("long_term_at_risk", (long.len() - lt, 0));
    let graduates: HashSet<&str> = t
        .groups
        .iter()
        .filter(|g| g.1 == "graduate_unemployed_after_school" && date(&g.2) <= e)
        .map(|g| g.0.as_str())
        .collect();
    let grad_spells: Vec<SpellRow> =
        spells.iter().filter(|s| graduates.contains(s.case_id.as_str())).cloned().collect();
    put("graduate_employment_rate", targets::reemployment(&grad_spells, &placements, period, e));
    // Served: a contact, recommendation or enrolment of a person living in j,
    // dated from the spell's registration to E.
    let mut services: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for (case, d) in t
        .contacts
        .iter()
        .map(|c| (&c.0, &c.1))
        .chain(t.recommendations.iter().map(|r| (&r.0, &r.1)))
        .chain(t.trainings.iter().map(|x| (&x.0, &x.2)))
    {
        if t.lives_in(j, case) && date(d) <= e {
            services.entry(case.as_str()).or_default().push(date(d));
        }
    }
    let mut served: HashMap<&str, bool> = HashMap::new();
    for s in grad_spells.iter().filter(|s| s.overlaps(period.from, e)) {
        let yes = services.get(s.case_id.as_str()).is_some_and(|v| v.iter().any(|d| s.registered_on <= *d && *d <= e));
        *served.entry(&s.case_id).or_default() |= yes;
    }
    put("graduate_service_rate", (served.values().filter(|s| **s).count(), served.len()));
    put("monthly_followup_rate", targets::followup(&spells, &contacts, period, e, p.followup_month_start_day));
    let (_, same_day, two_way) =
        targets::matchmaker(&spells, &contacts, &t.two_way(j, a), period, a, p.recommendation_days);
    put("matchmaker_same_day_contact_rate", same_day);
    put("matchmaker_two_way_rate", two_way);
    let communities = communities(t, j, a);
    put("full_employment_communities", (communities.iter().filter(|c| c.full_employment).count(), communities.len()));
    let distinct = |rows: Vec<&str>| rows.into_iter().collect::<HashSet<_>>().len();
    let in_period = |d: &str| period.from <= date(d) && date(d) <= e;
    put(
        "startup_trainees",
        (
            distinct(
                t.trainings
                    .iter()
                    .filter(|x| j.contains(&x.3) && x.1 == "start_up_malanhua" && in_period(&x.2))
                    .map(|x| x.0.as_str())
                    .collect(),
            ),
            0,
        ),
    );
    put(
        "interns",
        (
            distinct(
                t.placements
                    .iter()
                    .filter(|x| j.contains(&x.4) && x.1 == "internship" && in_period(&x.2))
                    .map(|x| x.0.as_str())
                    .collect(),
            ),
            0,
        ),
    );
    out
}

fn communities(t: &Tables, j: &Jurisdiction, a: NaiveDate) -> Vec<targets::CommunityRow> {
    let home: HashMap<String, String> =
        t.home.iter().filter(|(_, c)| j.contains(c)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let spells = t.spells(j, a, |case, _| home.contains_key(case));
    let placements = t.placements(a, |case| home.contains_key(case));
    targets::communities(&spells, &placements, &home, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_path_answers_as_the_definitions_on_a_generated_population() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.sqlite"), SqliteStoreOptions::default()).await.unwrap();
    let cases = PersonCases::new(store.clone(), CaseIds::from_key([3; 32]), Arc::new(Utc::now));
    let today = cases.today();
    let mut cfg = GeneratorConfig::new(4, 900, today);
    cfg.bulk = true;
    cfg.concurrency = 64;
    let summary = generate(&cases, &cfg, |_| {}).await.unwrap();
    assert_eq!(summary.rejected_unexpected, 0, "{:?}", summary.rejections);
    let (db, _) = runner::rebuild(&store, &ReadModelDir::new(dir.path().join("rm")), |_| {}).await.unwrap();
    let t = all_rows(&db);
    let rm = ReadModel::open(&db).unwrap();
    let p = TargetParams::default();

    // Jurisdictions of every level: the city, the three districts, streets and
    // communities with the most spells, and one with none (a valid code).
    let mut by_count: BTreeMap<String, usize> = BTreeMap::new();
    for s in &t.spells {
        for len in [6, 9, 12] {
            *by_count.entry(s.6[..len].to_string()).or_default() += 1;
        }
    }
    let mut codes: Vec<String> = vec![String::new(), "120119999999".into()];
    for len in [6, 9, 12] {
        let mut level: Vec<(&String, &usize)> = by_count.iter().filter(|(c, _)| c.len() == len).collect();
        level.sort_by_key(|(c, n)| (std::cmp::Reverse(**n), (*c).clone()));
        codes.extend(level.iter().take(3).map(|(c, _)| (*c).clone()));
    }
    let month = |m: u32| today.checked_sub_months(Months::new(m)).unwrap();
    let windows = [
        (month(12), today, today),
        (month(12), today, month(4)),
        (month(6), month(3), today),
        (month(20), month(8), month(7)),
    ];
    let mut compared = 0;
    let mut households_seen = 0;
    for code in &codes {
        let j = Jurisdiction::parse(code).unwrap();
        for (from, to, a) in windows {
            let period = Period::new(from, to).unwrap();
            let report = rm.targets(&j, period, a, &p).unwrap();
            let fast: BTreeMap<String, (i64, i64)> =
                report.targets.iter().map(|t| (t.id.to_string(), (t.numerator, t.denominator.unwrap_or(0)))).collect();
            for (id, expected) in oracle(&t, &j, period, a, &p) {
                assert_eq!(fast.get(&id), Some(&expected), "{id} for {code:?}, {from} .. {to} as of {a}");
                compared += 1;
            }
            // The action lists, row for row.
            let spells = t.spells(&j, a, |_, c| j.contains(c));
            let contacts = t.contacts(&j, a);
            assert_eq!(rm.long_term(&j, a, &p).unwrap(), targets::long_term(&spells, a, &p), "long-term {code:?} {a}");
            assert_eq!(
                rm.overdue_followups(&j, a, &p).unwrap(),
                targets::overdue_followups(&spells, &contacts, a, p.followup_month_start_day),
                "overdue {code:?} {a}"
            );
            assert_eq!(
                rm.exit_review(&j, a, &p).unwrap(),
                targets::exit_review(&spells, &contacts, a, p.exit_review_months),
                "exit review {code:?} {a}"
            );
            let (breaches, ..) =
                targets::matchmaker(&spells, &contacts, &t.two_way(&j, a), period, a, p.recommendation_days);
            assert_eq!(rm.matchmaker_breaches(&j, period, a, &p).unwrap(), breaches, "matchmaker {code:?} {a}");
            assert_eq!(rm.communities(&j, a).unwrap(), communities(&t, &j, a), "communities {code:?} {a}");
            let listed: Vec<(String, NaiveDate, NaiveDate)> = rm
                .zero_employment_households(&j, a, &p)
                .unwrap()
                .into_iter()
                .map(|h| (h.household_id, h.identified_on, h.since))
                .collect();
            let expected = households(&t, &j, a);
            assert_eq!(listed, expected, "zero-employment households {code:?} {a}");
            assert_eq!(fast["zero_employment_households_outstanding"].0, expected.len() as i64);
            households_seen += expected.len();
        }
    }
    assert!(compared > 300, "{compared} figures compared");
    // Households are cleared within a month, so they are compared on the days
    // signals are dated too, where they are outstanding, at every level.
    let mut days: Vec<NaiveDate> = t.signals.iter().map(|s| date(&s.1)).collect();
    days.sort();
    days.dedup();
    for a in days.into_iter().take(40) {
        for code in &codes {
            let j = Jurisdiction::parse(code).unwrap();
            let listed: Vec<(String, NaiveDate, NaiveDate)> = rm
                .zero_employment_households(&j, a, &p)
                .unwrap()
                .into_iter()
                .map(|h| (h.household_id, h.identified_on, h.since))
                .collect();
            let expected = households(&t, &j, a);
            assert_eq!(listed, expected, "zero-employment households {code:?} {a}");
            households_seen += expected.len();
        }
    }
    assert!(households_seen > 3, "the population has zero-employment households to compare: {households_seen}");
    // The population is not trivial at the levels compared.
    let city = oracle(&t, &Jurisdiction::city(), Period::new(month(12), today).unwrap(), today, &p);
    assert!(city["reemployment_rate"].1 > 200, "{city:?}");
    assert!(city["long_term_unemployed"].0 > 0 && city["graduate_service_rate"].1 > 10, "{city:?}");
}

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
    facts::{
        CaseFacts, CaseNo, FactStore, Names, PlaceNo, Placement, PlacementKind, Recognition, Spell, SpellRow, Training,
    },
    runner::{self, ReadModelDir},
    targets::{self, Facts},
};
use leye_store::{SqliteStore, SqliteStoreOptions};
use rusqlite::Connection;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A stored spell: (case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community,
/// graduate_group).
type StoredSpell = (String, i64, String, Option<String>, Option<String>, Option<String>, String, bool);

/// Every row the definitions read, as stored (before any as-of cut).
struct Tables {
    /// (case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community, graduate_group)
    spells: Vec<StoredSpell>,
    /// (case_id, kind, started_on, ended_on, community, district)
    placements: Vec<(String, String, String, Option<String>, String, String)>,
    contacts: Vec<(String, String)>,
    /// (case_id, recommended_on, two_way)
    recommendations: Vec<(String, String, bool)>,
    /// (case_id, programme, enrolled_on, community, completed_on)
    trainings: Vec<(String, String, String, String, Option<String>)>,
    /// case_id → community of the latest registration
    home: HashMap<String, String>,
    /// case_id → hukou county
    hukou: HashMap<String, String>,
    /// Recognitions outside the zero-employment category: (case_id, recognised_on, valid_from, valid_to)
    difficulty: Vec<(String, String, String, String)>,
    /// Grants, person cases then enterprise cases: (programme, amount_fen,
    /// granted_on, revoked_on, district, community; the district for
    /// enterprises, and for a person's grant recorded in a district the
    /// person did not live in)
    grants: Vec<(String, i64, String, Option<String>, String, String)>,
    /// How many of `grants` are on person cases (the rest: enterprise cases).
    person_grants: usize,
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
        "SELECT case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community, graduate_group FROM spell",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
    );
    let placements = all(&c, "SELECT case_id, kind, started_on, ended_on, community, district FROM placement", |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
    });
    let contacts = all(&c, "SELECT case_id, contacted_on FROM contact", |r| Ok((r.get(0)?, r.get(1)?)));
    let recommendations = all(&c, "SELECT case_id, recommended_on, two_way FROM recommendation", |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    });
    let trainings = all(&c, "SELECT case_id, programme, enrolled_on, community, completed_on FROM training", |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    });
    let home = all(&c, "SELECT case_id, community FROM person", |r| Ok((r.get(0)?, r.get(1)?)));
    let hukou = all(&c, "SELECT case_id, hukou_county FROM person", |r| Ok((r.get(0)?, r.get(1)?)));
    // A recognition in a category other than zero-employment household
    // (also when it lists that one too).
    let recognitions: Vec<(String, String, String, String, String)> =
        all(&c, "SELECT case_id, recognised_on, valid_from, valid_to, categories FROM difficulty", |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        });
    let difficulty = recognitions
        .into_iter()
        .filter(|d| d.4.split(',').any(|k| k != "zero_employment_household"))
        .map(|d| (d.0, d.1, d.2, d.3))
        .collect();
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
    let mut grants: Vec<(String, i64, String, Option<String>, String, String)> =
        all(&c, "SELECT programme, amount_fen, granted_on, revoked_on, district, community FROM subsidy", |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        });
    let person_grants = grants.len();
    grants.extend(all::<_, Vec<_>>(
        &c,
        "SELECT programme, amount_fen, granted_on, revoked_on, district, district FROM enterprise_subsidy",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
    ));
    Tables {
        grants,
        person_grants,
        spells,
        placements,
        contacts,
        recommendations,
        trainings,
        home,
        hukou,
        difficulty,
        memberships,
        signals,
    }
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
            community: t.home_on(&m.1, a).unwrap_or_else(|| t.home.get(&m.1).cloned().unwrap_or_default()),
        });
    }
    let signals = t.dates(t.signals.iter().filter(|s| date(&s.1) <= a).map(|s| (s.0.clone(), date(&s.1))));
    // Employment known on `a`: placements started by `a`, and spells closed by
    // an exit with reason employed dated by `a`, until the case's next
    // registration (spell_no + 1) if dated by `a`.
    let mut employment: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>> = HashMap::new();
    for p in t.placements.iter().filter(|p| date(&p.2) <= a) {
        employment.entry(p.0.clone()).or_default().push((date(&p.2), p.3.as_deref().map(date).filter(|e| *e <= a)));
    }
    let registered: HashMap<(&str, i64), NaiveDate> =
        t.spells.iter().map(|s| ((s.0.as_str(), s.1), date(&s.2))).collect();
    for s in &t.spells {
        let exit = s.3.as_deref().map(date).filter(|e| *e <= a);
        if let (Some(exit), Some("exited"), Some("employed")) = (exit, s.4.as_deref(), s.5.as_deref()) {
            let next = registered.get(&(s.0.as_str(), s.1 + 1)).copied().filter(|r| *r <= a);
            employment.entry(s.0.clone()).or_default().push((exit, next));
        }
    }
    let mut out = Vec::new();
    for (household, mut rows) in members {
        if !rows.iter().any(|m| m.member_on(a) && j.contains(&m.community)) {
            continue;
        }
        rows.sort_by(|x, y| (x.joined_on, &x.case_id).cmp(&(y.joined_on, &y.case_id)));
        let status = targets::household_status(&rows, &signals, &employment, a);
        if let (true, Some(identified), Some(since)) = (status.zero_employment, status.identified_on, status.since) {
            out.push((household.to_string(), identified, since));
        }
    }
    out
}

/// The rows of [`Tables`] as the definitions read them, numbered here: cases
/// in descending case-id order and communities in order of first sight (not
/// as the read model's index numbers them), from every row of the tables.
struct Numbered {
    case_ids: Vec<String>,
    places: Vec<String>,
    cases: FactStore,
}

impl Names for Numbered {
    fn case_id(&self, case: CaseNo) -> &str {
        &self.case_ids[case as usize]
    }

    fn community(&self, place: PlaceNo) -> &str {
        &self.places[place as usize]
    }
}

impl Numbered {
    fn new(t: &Tables) -> Self {
        let mut case_ids: Vec<String> = t.home.keys().cloned().collect();
        case_ids.extend(t.spells.iter().map(|s| s.0.clone()));
        case_ids.sort_by(|x, y| y.cmp(x));
        case_ids.dedup();
        let no: HashMap<&str, usize> = case_ids.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let mut places: Vec<String> = Vec::new();
        let mut place = |code: &str| match places.iter().position(|p| p == code) {
            Some(i) => i as PlaceNo,
            None => {
                places.push(code.to_string());
                (places.len() - 1) as PlaceNo
            }
        };
        let mut cases = vec![CaseFacts::default(); case_ids.len()];
        for (case, community) in &t.home {
            cases[no[case.as_str()]].home = Some(place(community));
        }
        let mut spells: Vec<&StoredSpell> = t.spells.iter().collect();
        spells.sort_by_key(|s| s.1);
        let mut per_case: Vec<Vec<Spell>> = vec![Vec::new(); case_ids.len()];
        for s in spells {
            per_case[no[s.0.as_str()]].push(Spell {
                registered_on: date(&s.2),
                ended_on: s.3.as_deref().map(date),
                ended_employed: s.4.as_deref() == Some("placed") || s.5.as_deref() == Some("employed"),
                exited_employed: s.4.as_deref() == Some("exited") && s.5.as_deref() == Some("employed"),
                graduate: s.7,
                community: place(&s.6),
            });
        }
        let mut placements: Vec<Vec<Placement>> = vec![Vec::new(); case_ids.len()];
        for p in &t.placements {
            placements[no[p.0.as_str()]].push(Placement {
                started_on: date(&p.2),
                ended_on: p.3.as_deref().map(date),
                kind: PlacementKind::of(&p.1),
                community: place(&p.4),
                local: t.hukou.get(&p.0) == Some(&p.5),
            });
        }
        let mut trainings: Vec<Vec<Training>> = vec![Vec::new(); case_ids.len()];
        for x in &t.trainings {
            trainings[no[x.0.as_str()]].push(Training {
                start_up: x.1 == "start_up_malanhua",
                enrolled_on: date(&x.2),
                completed_on: x.4.as_deref().map(date),
                community: place(&x.3),
            });
        }
        let mut recognitions: Vec<Vec<Recognition>> = vec![Vec::new(); case_ids.len()];
        for d in &t.difficulty {
            recognitions[no[d.0.as_str()]].push(Recognition {
                recognised_on: date(&d.1),
                valid_from: date(&d.2),
                valid_to: date(&d.3),
            });
        }
        let dates = |rows: Vec<(&String, &String)>| {
            let mut out: Vec<Vec<NaiveDate>> = vec![Vec::new(); case_ids.len()];
            for (case, d) in rows {
                out[no[case.as_str()]].push(date(d));
            }
            out.into_iter().map(|mut v| {
                v.sort();
                v
            })
        };
        let contacts: Vec<Vec<NaiveDate>> = dates(t.contacts.iter().map(|c| (&c.0, &c.1)).collect()).collect();
        let two_way: Vec<Vec<NaiveDate>> =
            dates(t.recommendations.iter().filter(|r| r.2).map(|r| (&r.0, &r.1)).collect()).collect();
        let other: Vec<Vec<NaiveDate>> = dates(
            t.recommendations.iter().map(|r| (&r.0, &r.1)).chain(t.trainings.iter().map(|x| (&x.0, &x.2))).collect(),
        )
        .collect();
        for (i, c) in cases.iter_mut().enumerate() {
            c.spells = std::mem::take(&mut per_case[i]).into();
            c.placements = std::mem::take(&mut placements[i]).into();
            c.contacts = contacts[i].clone().into();
            c.two_way = two_way[i].clone().into();
            c.other_services = other[i].clone().into();
            c.trainings = std::mem::take(&mut trainings[i]).into();
            c.recognitions = std::mem::take(&mut recognitions[i]).into();
        }
        Self { case_ids, places, cases: cases.into_iter().collect() }
    }

    fn facts(&self, j: &Jurisdiction) -> Facts<'_> {
        Facts::new(&self.cases, self, self.places.len(), j)
    }

    /// Every spell registered in `j` by `a`, as known on `a`.
    fn spells(&self, j: &Jurisdiction, a: NaiveDate) -> Vec<SpellRow> {
        let mut rows = Vec::new();
        for case in 0..self.cases.len() {
            for (no, s) in self.cases.case(case as CaseNo).spells().iter().enumerate() {
                if j.contains(&self.places[s.community as usize]) {
                    rows.extend(s.at(case as CaseNo, no, a));
                }
            }
        }
        rows
    }
}

impl Tables {
    /// The community of `case`'s latest registration dated by `a` (of two on a day, the later).
    fn home_on(&self, case: &str, a: NaiveDate) -> Option<String> {
        self.spells
            .iter()
            .filter(|s| s.0 == case && date(&s.2) <= a)
            .max_by_key(|s| (date(&s.2), s.1))
            .map(|s| s.6.clone())
    }

    fn dates(&self, rows: impl Iterator<Item = (String, NaiveDate)>) -> HashMap<String, Vec<NaiveDate>> {
        let mut out: HashMap<String, Vec<NaiveDate>> = HashMap::new();
        for (case, d) in rows {
            out.entry(case).or_default().push(d);
        }
        out
    }
}

/// Subsidy totals by the definition (TARGETS.md): grants in `j` granted in
/// `[F, E]`, not revoked on `A`, by programme, year and district; enterprise
/// grants for the city and a district only. A person-case grant counts for
/// its row's district, and below it for the community stored beside it,
/// which must lie in that district (else the district itself is stored).
fn subsidy_totals(t: &Tables, j: &Jurisdiction, period: Period, a: NaiveDate) -> Vec<(String, i32, String, i64, i64)> {
    let e = period.to.min(a);
    let enterprise_level = j.code().len() <= 6;
    let mut totals: BTreeMap<(String, i32, String), (i64, i64)> = BTreeMap::new();
    for (i, g) in t.grants.iter().enumerate() {
        assert!(g.5.starts_with(&g.4), "a grant's place lies in its district: {g:?}");
        let granted = date(&g.2);
        let counted = (i < t.person_grants || enterprise_level)
            && j.contains(&g.5)
            && period.from <= granted
            && granted <= e
            && g.3.as_deref().is_none_or(|r| date(r) > a);
        if counted {
            let entry = totals
                .entry((g.0.clone(), granted.format("%Y").to_string().parse().unwrap(), g.4.clone()))
                .or_default();
            entry.0 += 1;
            entry.1 += g.1;
        }
    }
    totals.into_iter().map(|((p, y, d), (n, fen))| (p, y, d, n, fen)).collect()
}

/// The figures of the definitions, by target id, as `(numerator, denominator)`.
fn oracle(
    t: &Tables,
    n: &Numbered,
    j: &Jurisdiction,
    period: Period,
    a: NaiveDate,
    p: &TargetParams,
) -> BTreeMap<String, (i64, i64)> {
    let e = period.to.min(a);
    let f = n.facts(j);
    let spells = n.spells(j, a);
    let mut out = BTreeMap::new();
    let mut put = |id: &str, (n, d): (usize, usize)| {
        out.insert(id.to_string(), (n as i64, d as i64));
    };
    put("reemployment_rate", targets::reemployment(&f, &spells, period, e));
    let long = targets::long_term(&f, &spells, a, p);
    // Persons: a case with two long-term spells counts once.
    let persons = |status: &str| {
        long.iter().filter(|r| r.status == status).map(|r| r.case_id.as_str()).collect::<HashSet<_>>().len()
    };
    put("long_term_unemployed", (persons("long_term"), 0));
    put("long_term_at_risk", (persons("at_risk"), 0));
    // The spells whose own registration listed the group (spell.graduate_group).
    let grad_spells = targets::graduate_spells(&spells);
    put("graduate_employment_rate", targets::reemployment(&f, &grad_spells, period, e));
    put("graduate_service_rate", targets::served(&f, &grad_spells, period, e));
    put("monthly_followup_rate", targets::followup(&f, &spells, period, e, p.followup_month_start_day));
    let (_, same_day, two_way) = targets::matchmaker(&f, &spells, period, a, p.recommendation_days);
    put("matchmaker_same_day_contact_rate", same_day);
    put("matchmaker_two_way_rate", two_way);
    let all: Vec<CaseNo> = (0..n.cases.len() as CaseNo).collect();
    let communities = targets::communities(&f, &all, a);
    put("full_employment_communities", (communities.iter().filter(|c| c.full_employment).count(), communities.len()));
    put("difficulty_employment_rate", targets::difficulty_employment(&f, &all, period, a));
    put(
        "welfare_post_placements",
        (
            targets::placed_in(&f, &all, period, e, |k| {
                matches!(k, PlacementKind::PublicWelfarePost | PlacementKind::CommunityServicePost)
            }),
            0,
        ),
    );
    put("public_welfare_local_share", targets::public_welfare_local_share(&f, &all, a));
    put("subsidised_training_person_times", (targets::training_person_times(&f, &all, period, e), 0));
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
    let n = Numbered::new(&t);
    let rm = ReadModel::open(&db).unwrap();
    let p = TargetParams::default();
    // The city's dashboard reports, prepared as the server's warm-keeper
    // prepares them: walked once and kept; the year to date is among the
    // windows below, so its city answer comes from the kept sums.
    assert_eq!(leye::analytics::prepare_city_dashboard(&rm, today, &p).unwrap(), 13);
    assert_eq!(leye::analytics::prepare_city_dashboard(&rm, today, &p).unwrap(), 0, "kept: none walked again");

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
    let year_start = NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1).unwrap();
    let windows = [
        (year_start, today, today),
        (month(12), today, today),
        (month(12), today, month(4)),
        (month(6), month(3), today),
        (month(20), month(8), month(7)),
    ];
    let mut compared = 0;
    let mut households_seen = 0;
    let mut grants_seen = 0;
    for code in &codes {
        let j = Jurisdiction::parse(code).unwrap();
        for (from, to, a) in windows {
            let period = Period::new(from, to).unwrap();
            let report = rm.targets(&j, period, a, &p).unwrap();
            let fast: BTreeMap<String, (i64, i64)> =
                report.targets.iter().map(|t| (t.id.to_string(), (t.numerator, t.denominator.unwrap_or(0)))).collect();
            for (id, expected) in oracle(&t, &n, &j, period, a, &p) {
                assert_eq!(fast.get(&id), Some(&expected), "{id} for {code:?}, {from} .. {to} as of {a}");
                compared += 1;
            }
            let totals: Vec<(String, i32, String, i64, i64)> = rm
                .subsidy_totals(&j, period, a)
                .unwrap()
                .into_iter()
                .map(|r| (r.programme, r.year, r.district, r.grants, r.amount_fen))
                .collect();
            assert_eq!(totals, subsidy_totals(&t, &j, period, a), "subsidy totals {code:?} {from} .. {to} as of {a}");
            grants_seen += totals.len();
            // The action lists, row for row.
            let f = n.facts(&j);
            let spells = n.spells(&j, a);
            assert_eq!(
                rm.long_term(&j, a, &p).unwrap(),
                targets::long_term(&f, &spells, a, &p),
                "long-term {code:?} {a}"
            );
            assert_eq!(
                rm.overdue_followups(&j, a, &p).unwrap(),
                targets::overdue_followups(&f, &spells, a, p.followup_month_start_day),
                "overdue {code:?} {a}"
            );
            assert_eq!(
                rm.exit_review(&j, a, &p).unwrap(),
                targets::exit_review(&f, &spells, a, p.exit_review_months),
                "exit review {code:?} {a}"
            );
            let (breaches, ..) = targets::matchmaker(&f, &spells, period, a, p.recommendation_days);
            assert_eq!(rm.matchmaker_breaches(&j, period, a, &p).unwrap(), breaches, "matchmaker {code:?} {a}");
            let all: Vec<CaseNo> = (0..n.cases.len() as CaseNo).collect();
            assert_eq!(rm.communities(&j, a).unwrap(), targets::communities(&f, &all, a), "communities {code:?} {a}");
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
    assert!(grants_seen > 20, "the population has grants to total: {grants_seen}");
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
    let city = oracle(&t, &n, &Jurisdiction::city(), Period::new(month(12), today).unwrap(), today, &p);
    assert!(city["reemployment_rate"].1 > 200, "{city:?}");
    assert!(city["long_term_unemployed"].0 > 0 && city["graduate_service_rate"].1 > 10, "{city:?}");
}

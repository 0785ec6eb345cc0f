use chrono::{TimeZone, Utc};
use leye_domain::person::{self, PersonCase};
use leye_projections::{Jurisdiction, Period, ReadModel, TargetParams, runner};
use leye_store::{SqliteStore, SqliteStoreOptions};

use super::*;
use crate::identity::CaseIds;

fn today() -> Date {
    ymd(2026, 11, 22)
}

fn cases(store: SqliteStore) -> PersonCases<SqliteStore> {
    // Noon in Beijing on `today()`.
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
    PersonCases::new(store, CaseIds::from_key([7; 32]), Arc::new(move || now))
}

async fn store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("store.sqlite"), SqliteStoreOptions::default()).await.unwrap()
}

/// Every planned command folded through the pure decider, without a store.
#[test]
fn every_planned_command_is_accepted_by_the_decider() {
    let cfg = GeneratorConfig::new(11, 4000, today());
    let places = Places::tianjin();
    let population = Population::build(&cfg, &places).unwrap();
    let (mut deliberate, mut unexpected) = (0, BTreeMap::<String, u32>::new());
    for i in 0..cfg.people {
        let mut case = PersonCase::default();
        for step in plan_person(&cfg, &places, &population, i).unwrap() {
            let command = DatedCommand { effective_date: step.date, command: step.command };
            match person::decide(&case, command, today()) {
                Ok(events) => events.iter().for_each(|e| case.apply(e)),
                Err(r) if step.expect == Some(r.code) => deliberate += 1,
                Err(r) => *unexpected.entry(format!("{}: {}", r.code, r.message)).or_default() += 1,
            }
        }
    }
    assert!(unexpected.is_empty(), "unexpected rejections: {unexpected:#?}");
    assert!(deliberate > 0, "some rejections are provoked on purpose");
}

#[test]
fn places_nest_by_prefix_and_resident_ids_are_unique() {
    let places = Places::tianjin();
    assert_eq!(places.districts.len(), 16);
    for d in &places.districts {
        assert!((6..=15).contains(&d.streets.len()), "{}: {} streets", d.code, d.streets.len());
        for s in &d.streets {
            assert!(s.code.starts_with(d.code) && s.code.len() == 9);
            assert!((5..=12).contains(&s.communities.len()));
            for c in &s.communities {
                Residence::parse(d.code, &s.code, c).unwrap();
            }
        }
    }
    let cfg = GeneratorConfig::new(3, 30_000, today());
    let population = Population::build(&cfg, &places).unwrap();
    let ids: std::collections::HashSet<&str> = population.members.iter().map(|m| m.resident_id.as_str()).collect();
    assert_eq!(ids.len(), cfg.people);
    for m in &population.members {
        let year = m.birth.year();
        assert!((1960..=2005).contains(&year), "born {year}");
        assert_eq!(m.resident_id.birth_date(), m.birth);
        assert_eq!(m.resident_id.gender(), m.gender);
    }
}

/// The shares the module documentation promises, on plans alone.
#[test]
fn proportions_are_as_designed() {
    let cfg = GeneratorConfig::new(5, 20_000, today());
    let places = Places::tianjin();
    let population = Population::build(&cfg, &places).unwrap();
    let n = cfg.people as f64;
    let share = |f: &dyn Fn(&Member) -> bool| population.members.iter().filter(|m| f(m)).count() as f64 / n;

    let household_size = n / population.households.len() as f64;
    assert!((2.2..=2.7).contains(&household_size), "household size {household_size}");
    let zero = population.households.iter().filter(|h| h.zero_employment_on.is_some()).count() as f64
        / population.households.len() as f64;
    assert!((0.005..=0.02).contains(&zero), "zero-employment households {zero}");
    let graduates = share(&|m| m.recent_graduate);
    assert!((0.11..=0.19).contains(&graduates), "graduates {graduates}");
    let after_school = share(&|m| m.after_school);
    assert!(after_school > graduates * 0.7, "after school {after_school} of {graduates}");
    let veterans = share(&|m| m.traits.veteran);
    assert!((0.01..=0.04).contains(&veterans), "veterans {veterans}");
    let local = share(&|m| population.households[m.household as usize].hukou.is_tianjin());
    assert!((0.75..=0.88).contains(&local), "Tianjin hukou {local}");
    let binhai = share(&|m| places.district(m.home).code == "120116");
    assert!((0.10..=0.18).contains(&binhai), "Binhai {binhai}");

    let (mut events, mut recognised, mut placements, mut spells) = (0usize, 0usize, 0usize, 0usize);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..cfg.people {
        let plan = plan_person(&cfg, &places, &population, i).unwrap();
        events += plan.iter().filter(|s| s.expect.is_none()).count();
        recognised += usize::from(plan.iter().any(|s| matches!(s.command, PersonCommand::RecogniseDifficulty(_))));
        for s in &plan {
            match &s.command {
                PersonCommand::RegisterUnemployment(_) if s.expect.is_none() => spells += 1,
                PersonCommand::RecordPlacement(p) => {
                    placements += 1;
                    *kinds.entry(leye_projections::names::of(&p.kind)).or_default() += 1;
                }
                _ => {}
            }
        }
    }
    let per_person = events as f64 / n;
    eprintln!(
        "events/person {per_person:.2}, recognised {:.3}, graduates {graduates:.3}, after school {after_school:.3}, \
         household size {household_size:.2}, zero-employment {zero:.4}, spells/person {:.3}, placed/spell {:.3}, \
         kinds {kinds:?}",
        recognised as f64 / n,
        spells as f64 / n,
        placements as f64 / spells as f64
    );
    assert!((15.0..=30.0).contains(&per_person), "events per person {per_person}");
    let recognised = recognised as f64 / n;
    assert!((0.07..=0.14).contains(&recognised), "difficulty recognised {recognised}");
    let placed = placements as f64 / spells as f64;
    assert!((0.8..=0.97).contains(&placed), "placements per spell {placed}");
    let enterprise = kinds["enterprise"] as f64 / placements as f64;
    assert!((0.45..=0.7).contains(&enterprise), "enterprise share {enterprise}: {kinds:?}");
}

/// An event without its global position and commit time: revision, id, type, data, metadata.
type Stored = (u64, Uuid, String, Vec<u8>, Vec<u8>);

fn by_stream(events: Vec<leye_store::RecordedEvent>) -> BTreeMap<String, Vec<Stored>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for e in events {
        out.entry(e.stream.to_string()).or_default().push((e.revision, e.event_id, e.event_type, e.data, e.metadata));
    }
    out
}

async fn whole_log(store: &SqliteStore) -> Vec<leye_store::RecordedEvent> {
    let (mut all, mut after) = (Vec::new(), None);
    loop {
        let batch = store.read_all(after, 1000).await.unwrap();
        let Some(last) = batch.last() else { return all };
        after = Some(last.position);
        all.extend(batch);
    }
}

/// Same seed, same streams, whatever the concurrency; a second run writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_log_and_a_rerun_is_all_duplicates() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (store_a, store_b) = (store(&dir_a).await, store(&dir_b).await);
    let mut cfg = GeneratorConfig::new(42, 120, today());
    cfg.concurrency = 1;
    let a = generate(&cases(store_a.clone()), &cfg, |_| {}).await.unwrap();
    cfg.concurrency = 24;
    let b = generate(&cases(store_b.clone()), &cfg, |_| {}).await.unwrap();
    assert_eq!(a.rejected_unexpected, 0, "{:?}", a.rejections);
    assert_eq!((a.events, a.accepted, a.commands), (b.events, b.accepted, b.commands));
    let (log_a, log_b) = (whole_log(&store_a).await, whole_log(&store_b).await);
    assert_eq!(log_a.len() as u64, a.events);
    assert_eq!(by_stream(log_a), by_stream(log_b));

    let again = generate(&cases(store_b.clone()), &cfg, |_| {}).await.unwrap();
    assert_eq!((again.events, again.accepted), (0, 0));
    assert_eq!(again.duplicates, b.accepted);
    // Rejected commands wrote nothing: they are decided again, on the case as it now stands.
    assert_eq!(again.rejected_by_design + again.rejected_unexpected, b.rejected_by_design);
    assert_eq!(whole_log(&store_b).await.len() as u64, b.events);
}

/// The bulk path writes, stream by stream, exactly the events the command
/// path writes (ids, types, payloads, metadata, revisions); only the
/// interleaving of streams in the global log differs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_path_writes_the_streams_of_the_command_path() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (store_a, store_b) = (store(&dir_a).await, store(&dir_b).await);
    let mut cfg = GeneratorConfig::new(5, 150, today());
    let a = generate(&cases(store_a.clone()), &cfg, |_| {}).await.unwrap();
    cfg.bulk = true;
    cfg.concurrency = 64;
    let b = generate(&cases(store_b.clone()), &cfg, |_| {}).await.unwrap();
    assert_eq!(b.rejected_unexpected, 0, "{:?}", b.rejections);
    assert!(b.rejected_by_design > 0 || a.rejected_by_design == 0);
    assert_eq!(
        (a.events, a.accepted, a.commands, a.rejected_by_design, &a.by_command),
        (b.events, b.accepted, b.commands, b.rejected_by_design, &b.by_command)
    );
    let (log_a, log_b) = (whole_log(&store_a).await, whole_log(&store_b).await);
    assert_eq!(log_b.len() as u64, b.events);
    assert_eq!(by_stream(log_a), by_stream(log_b));
    // A second bulk run writes nothing: each person's append is recognised.
    let again = generate(&cases(store_b.clone()), &cfg, |_| {}).await.unwrap();
    assert_eq!((again.events, again.accepted, again.duplicates), (0, 0, b.accepted));
    assert_eq!(whole_log(&store_b).await.len() as u64, b.events);
}

/// A few hundred persons through the command path: no unexpected
/// rejection, and the targets near the real ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_population_has_plausible_targets() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let cfg = GeneratorConfig::new(7, 400, today());
    let summary = generate(&cases(store.clone()), &cfg, |_| {}).await.unwrap();
    assert_eq!(summary.rejected_unexpected, 0, "{:?}", summary.rejections);
    assert_eq!(summary.persons, 400);
    // One event per command, but two per approval (approved, granted).
    let approvals = summary.by_command.get("approve_subsidy").copied().unwrap_or(0);
    assert!(approvals > 0, "the population has subsidies");
    assert!(summary.by_command.get("leave_household").is_some_and(|n| *n > 0), "{:?}", summary.by_command);
    assert_eq!(summary.enterprises, 8, "one per 50 persons");
    assert_eq!(summary.by_command.get("register"), Some(&8));
    assert_eq!(summary.accepted + approvals, summary.events);

    let read_models = runner::ReadModelDir::new(dir.path().join("rm"));
    let (db, folded) = runner::rebuild(&store, &read_models, |_| {}).await.unwrap();
    assert_eq!(folded, summary.events);
    let model = ReadModel::open(&db).unwrap();
    let period = Period::new(today().checked_sub_months(Months::new(12)).unwrap(), today()).unwrap();
    let report = model.targets(&Jurisdiction::city(), period, today(), &TargetParams::default()).unwrap();
    let value = |id: &str| report.targets.iter().find(|t| t.id == id).unwrap().value;
    let reemployment = value("reemployment_rate");
    assert!((0.8..=0.97).contains(&reemployment), "re-employment {reemployment}");
    assert!(value("matchmaker_same_day_contact_rate") >= 0.9);
    assert!(value("matchmaker_two_way_rate") >= 0.88);
    assert!(value("monthly_followup_rate") >= 0.85);
    assert!(value("graduate_service_rate") >= 0.95);
}

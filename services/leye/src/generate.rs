//! A synthetic, Tianjin-like population, recorded through the normal command
//! path ([`PersonCases::execute`], the same call the gRPC adapter makes after
//! parsing), for benchmarks, demonstrations and projection tests.
//!
//! # What it makes
//! - **Enterprises**: one per 50 persons, by district population, with
//!   headcounts, key-enterprise designations, batch layoffs and the services
//!   that follow them (or not), internship posts and labour shortages
//!   (`generate/enterprises.rs`).
//! - **Places**: the 16 districts (GB/T 2260), weighted by resident population
//!   (2020 census), each with 6–15 streets (街道, codes `…001`) and towns (镇,
//!   `…101`), each with 5–12 communities (社区, `…001`) or, in towns, villages
//!   (村, `…201`); codes nest by prefix. The layout is fixed, whatever the seed.
//! - **Households** (家庭) of 1–4 registered persons (mean ≈ 2.45) sharing a
//!   household id; a spouse, children and parents of plausible ages; one
//!   member in 25 living in another community, often another district;
//!   ≈ 1.2 % zero-employment households (零就业家庭), whose members register
//!   together, are recognised in that difficulty category, and whose head is
//!   placed within a month (动态清零). About 3 % of the children who register
//!   move out: they leave the household (`LeaveHousehold`) 30 days to two years
//!   after their first registration and name none when they register again.
//! - **Persons**: valid resident IDs (unique per person index, check
//!   character by ISO 7064 MOD 11-2, born 1960–2005, men up to 59 and women up
//!   to 52 at the start), hukou (≈ 72 % the home district, 10 % another Tianjin
//!   district, 18 % other provinces), rural share by district, groups in
//!   plausible shares (recent graduates ≈ 15 %, most of them "left school
//!   without a job"; rural labour, migrant workers, veterans, disabled persons
//!   and the others in small shares), difficulty recognitions for ≈ 10 %
//!   ("4050" and "older worker" only at the ages the domain allows).
//! - **Lifecycles** over the window (default: the two years up to today):
//!   registration; same-day contact (96 %) and a two-way recommendation within
//!   3 days (94 %) by the community's matchmaker; monthly follow-ups (95 % of
//!   months); more recommendations; training (vocational, "马兰花" start-up,
//!   SIYB, online) completed or dropped; unemployment benefit for some;
//!   placement for ≈ 95 % of spells (70 % within a month, 5 % after more than
//!   six months: the long-term unemployed; none is recorded after the window,
//!   so ≈ 89 % of spells end placed), in enterprise (≈ 60 %), flexible,
//!   self-employed, start-up, public-welfare (mostly local hukou),
//!   community-service posts or internships (graduates); follow-ups after
//!   placement (稳岗回访); subsidies with programme slugs, policy clauses
//!   (`002#36`, …) and amounts in fen, 2 % revoked later; a fifth of the
//!   placements end in the window and most of those persons register again (a
//!   new spell); exits (moved away, no longer seeking, found work themselves,
//!   school, army, retirement age, …).
//!
//! About 16–17 events per person (1.1 spells): `people` sizes the log from
//! thousands to millions of events.
//!
//! # Reproducibility
//! Everything follows from the seed and the window. The households and
//! persons come from one sequential pass (each household from its own random
//! stream), so resident IDs can be made unique; each person's lifecycle comes
//! from a stream derived from (seed, person index), so the number of persons
//! driven at once changes the interleaving in the global log but not one
//! stream's content. Command ids are UUIDv5 of (seed, person, step), and event
//! ids derive from them: running the same configuration again against the same
//! store writes nothing (every accepted command is a duplicate; the deliberate
//! rejections wrote nothing, so they are decided again, on the case as it now
//! stands, and may come back with another code). Another seed or another window
//! needs a fresh store (the persons would collide).
//!
//! # Rejections
//! Every command is meant to be accepted, except deliberate ones: for 0.3 % of
//! persons a second office tries to register them again while their
//! registration is open, and gets `ALREADY_REGISTERED`. Any other rejection is
//! a generator bug; they are counted by code in [`GenSummary`].

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, ensure};
use chrono::{Datelike, Days, Months, NaiveDate};
use leye_domain::subsidy::{ApproveProposal, Reviewer, SubsidyProposal};
use leye_domain::{
    Date, RejectionCode,
    person::{
        BenefitEnd, BenefitEndReason, BenefitStart, Contact, ContactChannel, ContactOutcome, DatedCommand, Difficulty,
        DifficultyCategory, Education, ExitReason, Graduation, HouseholdLeave, HouseholdMembership, HouseholdRelation,
        Hukou, HukouNature, JobRecommendation, Payee, PersonCommand, PersonGroup, Placement, PlacementEnd,
        PlacementEndReason, PlacementKind, Registration, RegistrationExit, SubsidyGrant, SubsidyRevocation,
        TrainingCompletion, TrainingDrop, TrainingEnrolment, TrainingProgramme,
    },
    values::{CountyCode, CreditCode, DateRange, Fen, Gender, PersonName, Residence, ResidentId, full_years_between},
};
use leye_store::EventStore;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{
    access::Access,
    cases::{AppError, CommandMeta, PersonCases, Target},
};

/// Persons driven at once unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Namespace of the generator's UUIDv5s (household, command and correlation ids).
const NAMESPACE: Uuid = Uuid::from_u128(0x6c65_7965_2d67_656e_8000_0000_0000_0001);

/// Seed of the place layout: fixed, so every seed sees the same city.
const PLACES_SEED: u64 = 2260;

/// Spells per person at most (registration, placement, end, again, …).
const MAX_SPELLS: u8 = 4;

// === config, progress, summary ===

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Everything follows from it.
    pub seed: u64,
    /// Persons to generate (≈ 17 events each).
    pub people: usize,
    /// First effective date of the generated facts.
    pub start: NaiveDate,
    /// Last effective date (inclusive); not after the service's today.
    pub end: NaiveDate,
    /// Persons driven at once; each person's commands are sent in order.
    pub concurrency: usize,
    /// The bulk path ([`bulk`]): each person's commands decided in memory and
    /// appended in one write, instead of one command-path call per command.
    pub bulk: bool,
}

impl GeneratorConfig {
    /// The two years up to `today`, [`DEFAULT_CONCURRENCY`] persons at a time.
    pub fn new(seed: u64, people: usize, today: NaiveDate) -> Self {
        let start = today.checked_sub_months(Months::new(24)).unwrap_or(today);
        Self { seed, people, start, end: today, concurrency: DEFAULT_CONCURRENCY, bulk: false }
    }
}

/// Reported about once a second while generating, and once at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenProgress {
    pub persons_done: usize,
    pub persons_total: usize,
    /// Commands sent so far (accepted, duplicate or rejected).
    pub commands: u64,
    /// Events written so far.
    pub events: u64,
    pub elapsed: Duration,
}

impl GenProgress {
    pub fn commands_per_second(&self) -> f64 {
        self.commands as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a generation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenSummary {
    pub persons: usize,
    pub households: usize,
    /// Enterprises registered (one per [`enterprises::PERSONS_PER_ENTERPRISE`] persons).
    pub enterprises: usize,
    /// Commands sent.
    pub commands: u64,
    /// Commands accepted and written by this run.
    pub accepted: u64,
    /// Commands accepted by an earlier run (same command id): nothing written.
    pub duplicates: u64,
    /// Rejections the generator provoked on purpose (`ALREADY_REGISTERED`).
    pub rejected_by_design: u64,
    /// Any other rejection: a generator bug. Should be 0.
    pub rejected_unexpected: u64,
    /// The unexpected rejections by code.
    pub rejections: BTreeMap<String, u64>,
    /// Events written by this run.
    pub events: u64,
    /// Commands sent, by kind (`register_unemployment`, …).
    pub by_command: BTreeMap<&'static str, u64>,
    pub elapsed: Duration,
}

impl GenSummary {
    pub fn commands_per_second(&self) -> f64 {
        self.commands as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn add(&mut self, t: PersonTally) {
        self.persons += 1;
        self.commands += t.commands;
        self.accepted += t.accepted;
        self.duplicates += t.duplicates;
        self.rejected_by_design += t.rejected_by_design;
        self.events += t.events;
        for code in t.unexpected {
            self.rejected_unexpected += 1;
            *self.rejections.entry(code).or_default() += 1;
        }
        for (kind, n) in t.by_command {
            *self.by_command.entry(kind).or_default() += n;
        }
    }
}

/// The metadata of person `index`'s step `step_no`: ids derived from the seed
/// (so a second run is an idempotent retry), the acting caseworker or
/// reviewer, the street's office. The same for the command and bulk paths.
fn step_meta(
    cfg: &GeneratorConfig,
    places: &Places,
    index: usize,
    step_no: usize,
    step: &lifecycle::Step,
) -> CommandMeta {
    let command_id = uuid5(&format!("command/{}/{index}/{step_no}", cfg.seed));
    CommandMeta {
        command_id,
        correlation_id: uuid5(&format!("spell/{}/{index}/{}", cfg.seed, step.spell)),
        causation_id: command_id,
        actor: match &step.command {
            PersonCommand::ProposeSubsidy(p) => p.proposed_by.clone(),
            PersonCommand::ApproveSubsidy(a) => a.reviewer.user.clone(),
            _ => caseworker(step.place),
        },
        office: places.street(step.place).code.clone(),
        expected_revision: None,
        access: Access::Service("leye-generate"),
    }
}

mod bulk;
mod enterprises;

// === the driver ===

/// Generates `cfg.people` persons and records their lifecycles through
/// `cases`, `cfg.concurrency` persons at a time. Fails on a store error (a
/// rejection is counted, not an error) or a configuration the service's today
/// does not allow.
pub async fn generate<S: EventStore>(
    cases: &PersonCases<S>,
    cfg: &GeneratorConfig,
    mut progress: impl FnMut(GenProgress),
) -> anyhow::Result<GenSummary> {
    let today = cases.today();
    ensure!(cfg.end <= today, "the window must end on or before today ({today}), not {}", cfg.end);
    ensure!(plus_days(cfg.start, 30) <= cfg.end, "the window must span at least 30 days");
    ensure!(cfg.concurrency >= 1, "concurrency must be at least 1");
    let started = Instant::now();

    let places = Arc::new(Places::tianjin());
    let population = {
        let (cfg, places) = (cfg.clone(), places.clone());
        tokio::task::spawn_blocking(move || Population::build(&cfg, &places))
            .await
            .context("building the population")??
    };
    let population = Arc::new(population);
    let mut summary = GenSummary { households: population.households.len(), ..GenSummary::default() };

    let mut tasks = JoinSet::new();
    let mut next = 0usize;
    let mut last_report = Instant::now();
    while next < cfg.people || !tasks.is_empty() {
        while next < cfg.people && tasks.len() < cfg.concurrency {
            let (cases, population, places, cfg) = (cases.clone(), population.clone(), places.clone(), cfg.clone());
            let index = next;
            tasks.spawn(async move {
                if cfg.bulk {
                    bulk::run_person(&cases, &population, &places, &cfg, index).await
                } else {
                    run_person(&cases, &population, &places, &cfg, index).await
                }
            });
            next += 1;
        }
        if let Some(joined) = tasks.join_next().await {
            summary.add(joined.context("a person's task failed")??);
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(GenProgress {
                persons_done: summary.persons,
                persons_total: cfg.people,
                commands: summary.commands,
                events: summary.events,
                elapsed: started.elapsed(),
            });
        }
    }
    enterprises::generate(&cases.of_kind(), cfg, &places, &mut summary).await?;
    summary.elapsed = started.elapsed();
    progress(GenProgress {
        persons_done: summary.persons,
        persons_total: cfg.people,
        commands: summary.commands,
        events: summary.events,
        elapsed: summary.elapsed,
    });
    Ok(summary)
}

/// What one person's commands came to.
#[derive(Debug, Default)]
struct PersonTally {
    commands: u64,
    accepted: u64,
    duplicates: u64,
    rejected_by_design: u64,
    events: u64,
    unexpected: Vec<String>,
    by_command: BTreeMap<&'static str, u64>,
}

/// Plans one person and sends the plan's commands in order.
async fn run_person<S: EventStore>(
    cases: &PersonCases<S>,
    population: &Population,
    places: &Places,
    cfg: &GeneratorConfig,
    index: usize,
) -> anyhow::Result<PersonTally> {
    let member = &population.members[index];
    let plan = plan_person(cfg, places, population, index)?;
    let case_id = cases.case_ids().person(&member.resident_id);
    let mut tally = PersonTally::default();
    for (step_no, step) in plan.into_iter().enumerate() {
        let meta = step_meta(cfg, places, index, step_no, &step);
        let target = match step.command {
            PersonCommand::RegisterUnemployment(_) => Target::Person(member.resident_id.clone()),
            _ => Target::Case(case_id),
        };
        *tally.by_command.entry(step.command.name()).or_default() += 1;
        tally.commands += 1;
        let command = DatedCommand { effective_date: step.date, command: step.command };
        match cases.execute(target, meta, command).await {
            Ok(outcome) if outcome.duplicate => tally.duplicates += 1,
            Ok(outcome) => {
                tally.accepted += 1;
                tally.events += outcome.event_ids.len() as u64;
            }
            Err(AppError::Rejected(r)) if step.expect == Some(r.code) => tally.rejected_by_design += 1,
            Err(AppError::Rejected(r)) => {
                tracing::warn!(case = %case_id, step = step_no, code = %r.code, "generated command rejected");
                tally.unexpected.push(r.code.to_string());
            }
            Err(e) => return Err(anyhow!(e).context(format!("person {index}, step {step_no}"))),
        }
    }
    Ok(tally)
}

/// The generated caseworker of a place (one per community).
fn caseworker(place: PlaceRef) -> String {
    format!("gen-caseworker-{:02}", place.community + 1)
}

/// The generated supervisor who reviews a place's subsidy proposals.
fn supervisor(place: PlaceRef) -> String {
    format!("gen-supervisor-{:02}", place.community + 1)
}

fn uuid5(name: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// A random stream for one purpose and index, derived from the seed.
fn rng_for(seed: u64, purpose: &str, index: u64) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(b"leye-generate\0");
    h.update(seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(b"\0");
    h.update(index.to_le_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(&h.finalize());
    ChaCha8Rng::from_seed(key)
}

// === random helpers ===

/// One of `table`'s values, with probability proportional to its weight.
fn choose<T: Copy>(rng: &mut impl Rng, table: &[(T, f64)]) -> T {
    let total: f64 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for (value, w) in table {
        if x < *w {
            return *value;
        }
        x -= w;
    }
    table[table.len() - 1].0
}

/// An index into `weights`, with probability proportional to its weight.
fn pick_index(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// A day in `[lo, hi]` (`lo` when the range is empty).
fn day_between(rng: &mut impl Rng, lo: Date, hi: Date) -> Date {
    let span = (hi - lo).num_days();
    if span <= 0 { lo } else { lo + Days::new(rng.random_range(0..=span) as u64) }
}

fn plus_days(d: Date, n: u64) -> Date {
    d.checked_add_days(Days::new(n)).unwrap_or(Date::MAX)
}

fn plus_months(d: Date, n: u32) -> Date {
    d.checked_add_months(Months::new(n)).unwrap_or(Date::MAX)
}

fn ymd(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn month_start(d: Date) -> Date {
    d.with_day(1).unwrap_or(d)
}

mod places;
pub use places::{DistrictPlaces, Places, StreetPlaces};
use places::{PlaceRef, URBANISING};

// === population: households and persons ===

/// Family names, most frequent first.
const SURNAMES: [&str; 30] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "桂", "英", "华", "玉", "红", "建", "文", "辉", "鹏", "宇", "浩", "晨", "欣", "悦", "子", "涵", "琳",
    "博", "凯",
];

/// Universities, and whether they are in Tianjin.
const SCHOOLS: [(&str, bool); 16] = [
    ("天津大学", true),
    ("南开大学", true),
    ("天津工业大学", true),
    ("天津科技大学", true),
    ("天津理工大学", true),
    ("天津师范大学", true),
    ("天津财经大学", true),
    ("天津商业大学", true),
    ("天津城建大学", true),
    ("河北工业大学", true),
    ("天津职业大学", true),
    ("天津电子信息职业技术学院", true),
    ("天津轻工职业技术学院", true),
    ("河北大学", false),
    ("山东大学", false),
    ("郑州大学", false),
];

/// Hukou counties of other provinces (GB/T 2260), weighted by how many of
/// their people work in Tianjin (Hebei first).
const OTHER_PROVINCES: [(&str, f64); 14] = [
    ("130102", 4.0), // Shijiazhuang, Hebei
    ("130203", 3.0), // Tangshan, Hebei
    ("130602", 2.0), // Baoding, Hebei
    ("130902", 3.0), // Cangzhou, Hebei
    ("131002", 3.0), // Langfang, Hebei
    ("370102", 2.0), // Jinan, Shandong
    ("371402", 2.0), // Dezhou, Shandong
    ("410102", 2.0), // Zhengzhou, Henan
    ("411302", 1.0), // Nanyang, Henan
    ("140105", 1.0), // Taiyuan, Shanxi
    ("230102", 1.0), // Harbin, Heilongjiang
    ("150102", 1.0), // Hohhot, Inner Mongolia
    ("340102", 1.0), // Hefei, Anhui
    ("210102", 1.0), // Shenyang, Liaoning
];

/// Ages (at the window's start) of persons living alone, and of couples.
const SINGLE_AGES: [((u32, u32), f64); 5] =
    [((19, 24), 0.32), ((25, 29), 0.24), ((30, 39), 0.20), ((40, 49), 0.14), ((50, 59), 0.10)];
const COUPLE_AGES: [((u32, u32), f64); 4] = [((24, 29), 0.20), ((30, 39), 0.35), ((40, 49), 0.25), ((50, 59), 0.20)];

/// Oldest age at the start of the window, by gender (later ones would retire in it).
const MAX_AGE_MEN: u32 = 59;
const MAX_AGE_WOMEN: u32 = 52;
/// The generator's retirement ages (the statutory table is dated data of the
/// policy catalogue; this approximation only decides when exits happen).
const RETIREMENT_MEN: u32 = 60;
const RETIREMENT_WOMEN: u32 = 55;

struct Household {
    id: Uuid,
    home: PlaceRef,
    hukou: CountyCode,
    nature: HukouNature,
    /// 零就业家庭: the day it is identified.
    zero_employment_on: Option<Date>,
    minimum_allowance: bool,
    low_income: bool,
    single_parent: bool,
}

/// Small groups a person belongs to (domain.md §2.4).
#[derive(Debug, Clone, Copy, Default)]
struct Traits {
    veteran: bool,
    disabled: bool,
    military_spouse: bool,
    registered_poor: bool,
    poor_village: bool,
    relocated_farmer: bool,
    returning_founder: bool,
    supports_ill_relative: bool,
    haihe_talent: bool,
    migrant_worker: bool,
    rural_labour: bool,
}

/// A person: who they are, before anything happens to them.
struct Member {
    household: u32,
    relation: HouseholdRelation,
    gender: Gender,
    birth: Date,
    resident_id: ResidentId,
    name: PersonName,
    home: PlaceRef,
    education: Education,
    graduation: Option<Graduation>,
    /// Graduated within the window's reach: registers as a (recent) graduate.
    recent_graduate: bool,
    /// Registers as a graduate who left school without a job (离校未就业).
    after_school: bool,
    traits: Traits,
}

struct Population {
    households: Vec<Household>,
    members: Vec<Member>,
}

/// One member before their details are drawn.
struct Draft {
    relation: HouseholdRelation,
    gender: Gender,
    age: u32,
}

impl Population {
    /// Households in order, each from its own random stream; persons numbered
    /// in order, so every person index has one resident ID, unique in the run.
    fn build(cfg: &GeneratorConfig, places: &Places) -> anyhow::Result<Self> {
        let mut households = Vec::new();
        let mut members: Vec<Member> = Vec::with_capacity(cfg.people);
        let mut sequence: HashMap<(u32, i32, bool), u16> = HashMap::new();
        while members.len() < cfg.people {
            let h = households.len() as u32;
            let mut rng = rng_for(cfg.seed, "household", u64::from(h));
            let size = choose(&mut rng, &[(1usize, 0.25), (2, 0.25), (3, 0.30), (4, 0.20)]);
            let size = size.min(cfg.people - members.len());
            let (household, drafts) = household(&mut rng, cfg, places, h, size);
            let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
            for (k, draft) in drafts.into_iter().enumerate() {
                let member = member(&mut rng, cfg, places, &household, h, k, draft, surname, &mut sequence)
                    .with_context(|| format!("generating person {} of household {h}", members.len()))?;
                members.push(member);
            }
            households.push(household);
        }
        Ok(Self { households, members })
    }
}

fn household(
    rng: &mut ChaCha8Rng,
    cfg: &GeneratorConfig,
    places: &Places,
    h: u32,
    size: usize,
) -> (Household, Vec<Draft>) {
    let home = places.pick(rng);
    let here = places.district(home);
    let (hukou, nature) = match rng.random::<f64>() {
        x if x < 0.72 => (here.code, rural(rng, here.rural_share)),
        x if x < 0.82 => {
            let other = &places.districts[places.pick_district(rng) as usize];
            (other.code, rural(rng, other.rural_share))
        }
        _ => (choose(rng, &OTHER_PROVINCES), rural(rng, 0.7)),
    };
    let zero_employment = rng.random_bool(0.012);
    let latest = cfg.end.checked_sub_days(Days::new(14)).unwrap_or(cfg.end).max(cfg.start);
    let zero_employment_on = zero_employment.then(|| day_between(rng, cfg.start, latest));
    let minimum_allowance = rng.random_bool(if zero_employment { 0.5 } else { 0.02 });
    let low_income = !minimum_allowance && rng.random_bool(0.03);

    let mut drafts = Vec::new();
    let head_gender = if rng.random_bool(0.6) { Gender::Male } else { Gender::Female };
    let mut single_parent = false;
    if size == 1 {
        let gender = if rng.random_bool(0.55) { Gender::Male } else { Gender::Female };
        drafts.push(Draft { relation: HouseholdRelation::Head, gender, age: age_in(rng, &SINGLE_AGES) });
    } else if size == 2 && rng.random_bool(0.15) {
        // A young head living with a parent.
        let head_age = rng.random_range(22..=30);
        drafts.push(Draft { relation: HouseholdRelation::Head, gender: any_gender(rng), age: head_age });
        let parent_age = head_age + rng.random_range(22..=28);
        let gender = if parent_age > MAX_AGE_WOMEN { Gender::Male } else { any_gender(rng) };
        drafts.push(Draft { relation: HouseholdRelation::Parent, gender, age: parent_age });
    } else {
        let with_spouse = size >= 3 || rng.random_bool(0.7);
        let with_child = size >= 3 || !with_spouse;
        let child_age = rng.random_range(19..=33);
        let head_age = if with_child { child_age + rng.random_range(24..=30) } else { age_in(rng, &COUPLE_AGES) };
        drafts.push(Draft { relation: HouseholdRelation::Head, gender: head_gender, age: head_age });
        if with_spouse {
            let age = (head_age + rng.random_range(0..=6)).saturating_sub(3);
            drafts.push(Draft { relation: HouseholdRelation::Spouse, gender: opposite(head_gender), age });
        } else {
            single_parent = rng.random_bool(0.4);
        }
        if with_child {
            drafts.push(Draft { relation: HouseholdRelation::Child, gender: any_gender(rng), age: child_age });
        }
        if size == 4 {
            // A second child, or the child's spouse.
            let draft = if rng.random_bool(0.6) {
                let age = rng.random_range(19..=33).min(head_age.saturating_sub(20)).max(19);
                Draft { relation: HouseholdRelation::Child, gender: any_gender(rng), age }
            } else {
                let age = (child_age + rng.random_range(0..=6)).saturating_sub(3).max(19);
                Draft { relation: HouseholdRelation::Other, gender: any_gender(rng), age }
            };
            drafts.push(draft);
        }
    }
    let hukou = CountyCode::parse(hukou).expect("the generator's county codes are valid GB/T 2260 codes");
    let household = Household {
        id: uuid5(&format!("household/{}/{h}", cfg.seed)),
        home,
        hukou,
        nature,
        zero_employment_on,
        minimum_allowance,
        low_income,
        single_parent,
    };
    (household, drafts)
}

fn rural(rng: &mut impl Rng, share: f64) -> HukouNature {
    if rng.random_bool(share) { HukouNature::Rural } else { HukouNature::Urban }
}

fn opposite(g: Gender) -> Gender {
    match g {
        Gender::Male => Gender::Female,
        Gender::Female => Gender::Male,
    }
}

fn any_gender(rng: &mut impl Rng) -> Gender {
    if rng.random_bool(0.5) { Gender::Male } else { Gender::Female }
}

fn age_in(rng: &mut impl Rng, bands: &[((u32, u32), f64)]) -> u32 {
    let (lo, hi) = choose(rng, bands);
    rng.random_range(lo..=hi)
}

#[allow(clippy::too_many_arguments)]
fn member(
    rng: &mut ChaCha8Rng,
    cfg: &GeneratorConfig,
    places: &Places,
    hh: &Household,
    h: u32,
    k: usize,
    draft: Draft,
    surname: &str,
    sequence: &mut HashMap<(u32, i32, bool), u16>,
) -> anyhow::Result<Member> {
    let Draft { relation, gender, age } = draft;
    let cap = if gender == Gender::Male { MAX_AGE_MEN } else { MAX_AGE_WOMEN };
    let age = if age > cap { rng.random_range(cap - 7..=cap) } else { age.max(19) };
    // Born 1960–2005, and at least 17 at the start of the window.
    let latest_birth = ymd(2005, 12, 31).min(cfg.start.checked_sub_months(Months::new(12 * 17)).unwrap_or(cfg.start));
    let earliest_birth = ymd(1960, 1, 1);
    let mut birth = cfg
        .start
        .checked_sub_months(Months::new(12 * age))
        .unwrap_or(cfg.start)
        .checked_sub_days(Days::new(rng.random_range(0..365)))
        .unwrap_or(cfg.start);

    // Recent graduates: young members who graduate in the window's reach.
    let young = age <= 26 && relation != HouseholdRelation::Spouse && relation != HouseholdRelation::Parent;
    let recent_graduate = young && rng.random_bool(0.68);
    let (education, graduation) = if recent_graduate {
        let education =
            choose(rng, &[(Education::JuniorCollege, 0.35), (Education::Bachelor, 0.55), (Education::Master, 0.10)]);
        // A graduation summer between a year before the window and a month before its end.
        let first = (cfg.start.year() - 1).max(1980);
        let last = (cfg.end - Days::new(30)).year() - i32::from((cfg.end - Days::new(30)).month() < 7);
        let year = rng.random_range(first..=last.max(first));
        let years = match education {
            Education::JuniorCollege => 21,
            Education::Master => 25,
            _ => 22,
        } + i32::from(rng.random_bool(0.3));
        birth = ymd(year - years, rng.random_range(1..=12), rng.random_range(1..=28));
        (education, Some(graduation(rng, year)))
    } else {
        let education = match age {
            ..30 => choose(
                rng,
                &[
                    (Education::JuniorSecondary, 0.25),
                    (Education::SeniorSecondary, 0.45),
                    (Education::JuniorCollege, 0.2),
                    (Education::Bachelor, 0.1),
                ],
            ),
            30..=45 => choose(
                rng,
                &[
                    (Education::PrimaryOrBelow, 0.03),
                    (Education::JuniorSecondary, 0.37),
                    (Education::SeniorSecondary, 0.35),
                    (Education::JuniorCollege, 0.15),
                    (Education::Bachelor, 0.10),
                ],
            ),
            _ => choose(
                rng,
                &[
                    (Education::PrimaryOrBelow, 0.10),
                    (Education::JuniorSecondary, 0.50),
                    (Education::SeniorSecondary, 0.30),
                    (Education::JuniorCollege, 0.07),
                    (Education::Bachelor, 0.03),
                ],
            ),
        };
        let graduation = (education >= Education::JuniorCollege)
            .then(|| graduation(rng, birth.year() + if education == Education::JuniorCollege { 21 } else { 22 }));
        (education, graduation)
    };
    let birth = birth.clamp(earliest_birth, latest_birth);
    let (resident_id, birth) = resident_id(hh.hukou.as_str(), birth, gender, cfg.end, sequence)?;

    let given: String = (0..rng.random_range(1..=2)).map(|_| GIVEN[rng.random_range(0..GIVEN.len())]).collect();
    let family =
        if relation == HouseholdRelation::Spouse { SURNAMES[rng.random_range(0..SURNAMES.len())] } else { surname };
    let name = PersonName::parse(&format!("{family}{given}")).map_err(|e| anyhow!("generated name: {e}"))?;

    // One member in 25 lives elsewhere, anywhere in the city.
    let home = if k > 0 && rng.random_bool(0.04) { places.pick(rng) } else { hh.home };

    let is_rural = hh.nature == HukouNature::Rural;
    let other_province = !hh.hukou.is_tianjin();
    let male = gender == Gender::Male;
    let traits = Traits {
        veteran: rng.random_bool(if male { 0.04 } else { 0.003 }),
        disabled: rng.random_bool(0.02),
        military_spouse: relation == HouseholdRelation::Spouse && !male && rng.random_bool(0.01),
        registered_poor: other_province && is_rural && rng.random_bool(0.04),
        poor_village: !other_province && is_rural && rng.random_bool(0.03),
        relocated_farmer: !other_province
            && is_rural
            && URBANISING.contains(&hh.hukou.as_str())
            && rng.random_bool(0.08),
        returning_founder: is_rural && (28..=50).contains(&age) && rng.random_bool(0.02),
        supports_ill_relative: rng.random_bool(0.006),
        haihe_talent: recent_graduate && education >= Education::Master && rng.random_bool(0.3),
        migrant_worker: other_province && is_rural && !recent_graduate,
        rural_labour: is_rural,
    };
    Ok(Member {
        household: h,
        relation,
        gender,
        birth,
        resident_id,
        name,
        home,
        education,
        graduation,
        recent_graduate,
        after_school: recent_graduate && rng.random_bool(0.85),
        traits,
    })
}

fn graduation(rng: &mut impl Rng, year: i32) -> Graduation {
    let (school, tianjin_school) = SCHOOLS[rng.random_range(0..SCHOOLS.len())];
    Graduation { year, school: school.to_string(), tianjin_school }
}

/// A resident ID for a person of this address code, birth date and gender,
/// unique in the run: the 3-digit sequence counts the persons sharing the first
/// 14 characters (odd for men, even for women); when all 500 of a gender are
/// taken, the birth date moves a day earlier.
fn resident_id(
    address: &str,
    mut birth: Date,
    gender: Gender,
    today: Date,
    sequence: &mut HashMap<(u32, i32, bool), u16>,
) -> anyhow::Result<(ResidentId, Date)> {
    let male = gender == Gender::Male;
    let address_number: u32 = address.parse().context("address code is not a number")?;
    loop {
        let used = sequence.entry((address_number, birth.num_days_from_ce(), male)).or_insert(0);
        if *used < 500 {
            let n = 2 * *used + u16::from(male);
            *used += 1;
            let first17 = format!("{address}{}{n:03}", birth.format("%Y%m%d"));
            let check = ResidentId::check_character(&first17).context("address code and birth date are digits")?;
            let id = format!("{first17}{check}");
            let id = ResidentId::parse(&id, today).map_err(|e| anyhow!("generated resident ID: {e}"))?;
            return Ok((id, birth));
        }
        birth = birth.pred_opt().context("birth date underflow")?;
    }
}

mod lifecycle;
use lifecycle::*;

#[cfg(test)]
mod tests;

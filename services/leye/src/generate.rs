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
}

impl GeneratorConfig {
    /// The two years up to `today`, [`DEFAULT_CONCURRENCY`] persons at a time.
    pub fn new(seed: u64, people: usize, today: NaiveDate) -> Self {
        let start = today.checked_sub_months(Months::new(24)).unwrap_or(today);
        Self { seed, people, start, end: today, concurrency: DEFAULT_CONCURRENCY }
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
            tasks.spawn(async move { run_person(&cases, &population, &places, &cfg, index).await });
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
        let command_id = uuid5(&format!("command/{}/{index}/{step_no}", cfg.seed));
        let meta = CommandMeta {
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
        };
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

// === places ===

/// A district as the generator lays it out.
struct DistrictSpec {
    code: &'static str,
    name: &'static str,
    /// Resident population in 10 000s (2020 census): the weight of the district.
    population_10k: f64,
    /// Streets (街道) and towns (镇) modelled.
    streets: u32,
    towns: u32,
    /// Share of households with rural hukou.
    rural_share: f64,
}

const fn district(
    code: &'static str,
    name: &'static str,
    population_10k: f64,
    streets: u32,
    towns: u32,
    rural_share: f64,
) -> DistrictSpec {
    DistrictSpec { code, name, population_10k, streets, towns, rural_share }
}

const DISTRICT_SPECS: [DistrictSpec; 16] = [
    district("120101", "和平", 35.5, 6, 0, 0.0),
    district("120102", "河东", 85.8, 13, 0, 0.01),
    district("120103", "河西", 82.2, 14, 0, 0.01),
    district("120104", "南开", 89.0, 12, 0, 0.01),
    district("120105", "河北", 64.8, 10, 0, 0.01),
    district("120106", "红桥", 48.3, 10, 0, 0.01),
    district("120110", "东丽", 85.7, 11, 0, 0.15),
    district("120111", "西青", 119.5, 3, 7, 0.30),
    district("120112", "津南", 92.8, 4, 8, 0.30),
    district("120113", "北辰", 90.9, 9, 5, 0.30),
    district("120114", "武清", 115.1, 6, 9, 0.55),
    district("120115", "宝坻", 72.2, 6, 9, 0.60),
    district("120116", "滨海新区", 206.7, 12, 3, 0.15),
    district("120117", "宁河", 39.5, 2, 10, 0.60),
    district("120118", "静海", 78.7, 2, 12, 0.60),
    district("120119", "蓟州", 79.5, 1, 14, 0.65),
];

/// Districts whose rural households are being resettled into flats ("上楼" farmers).
const URBANISING: [&str; 5] = ["120110", "120111", "120112", "120113", "120116"];

/// Tianjin's districts, streets and communities as the generator lays them out.
#[derive(Debug, Clone)]
pub struct Places {
    pub districts: Vec<DistrictPlaces>,
}

#[derive(Debug, Clone)]
pub struct DistrictPlaces {
    /// GB/T 2260 code, e.g. `120111`.
    pub code: &'static str,
    pub name: &'static str,
    /// Relative weight (resident population, 10 000s).
    pub weight: f64,
    pub rural_share: f64,
    pub streets: Vec<StreetPlaces>,
    /// (street, community) of every community, and its weight, for picking.
    community_refs: Vec<(u8, u8)>,
    community_weights: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct StreetPlaces {
    /// 9 digits: the district code and 3 more (`001…` streets, `101…` towns).
    pub code: String,
    /// A town (镇) rather than a street (街道).
    pub town: bool,
    /// 12-digit codes: the street code and 3 more (`001…` communities, `201…` villages).
    pub communities: Vec<String>,
}

/// A community, by its place in [`Places`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlaceRef {
    district: u8,
    street: u8,
    community: u8,
}

impl Places {
    /// The layout every generation uses.
    pub fn tianjin() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(PLACES_SEED);
        let districts = DISTRICT_SPECS
            .iter()
            .map(|spec| {
                let mut streets = Vec::new();
                let (mut community_refs, mut community_weights) = (Vec::new(), Vec::new());
                for k in 0..spec.streets + spec.towns {
                    let town = k >= spec.streets;
                    let number = if town { 101 + k - spec.streets } else { k + 1 };
                    let code = format!("{}{number:03}", spec.code);
                    let n: u32 = rng.random_range(5..=12);
                    let communities = (0..n)
                        .map(|j| {
                            // A town: two seat communities, then villages.
                            let number = if town && j >= 2 { 199 + j } else { j + 1 };
                            community_refs.push((streets.len() as u8, j as u8));
                            community_weights.push(rng.random_range(0.5..1.5));
                            format!("{code}{number:03}")
                        })
                        .collect();
                    streets.push(StreetPlaces { code, town, communities });
                }
                DistrictPlaces {
                    code: spec.code,
                    name: spec.name,
                    weight: spec.population_10k,
                    rural_share: spec.rural_share,
                    streets,
                    community_refs,
                    community_weights,
                }
            })
            .collect();
        Self { districts }
    }

    /// Every community code, district by district.
    pub fn communities(&self) -> impl Iterator<Item = &str> {
        self.districts.iter().flat_map(|d| d.streets.iter().flat_map(|s| s.communities.iter().map(String::as_str)))
    }

    fn pick_district(&self, rng: &mut impl Rng) -> u8 {
        let weights: Vec<f64> = self.districts.iter().map(|d| d.weight).collect();
        pick_index(rng, &weights) as u8
    }

    fn pick_in(&self, rng: &mut impl Rng, district: u8) -> PlaceRef {
        let d = &self.districts[district as usize];
        let (street, community) = d.community_refs[pick_index(rng, &d.community_weights)];
        PlaceRef { district, street, community }
    }

    fn pick(&self, rng: &mut impl Rng) -> PlaceRef {
        let d = self.pick_district(rng);
        self.pick_in(rng, d)
    }

    fn district(&self, p: PlaceRef) -> &DistrictPlaces {
        &self.districts[p.district as usize]
    }

    fn street(&self, p: PlaceRef) -> &StreetPlaces {
        &self.district(p).streets[p.street as usize]
    }

    fn residence(&self, p: PlaceRef) -> anyhow::Result<Residence> {
        let street = self.street(p);
        Residence::parse(self.district(p).code, &street.code, &street.communities[p.community as usize])
            .map_err(|(part, e)| anyhow!("generated residence ({part:?}): {e}"))
    }
}

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

// === lifecycles ===

/// The order of facts recorded on one day of one spell: what needs the
/// registration open comes before what closes it.
mod order {
    pub const REGISTER: u8 = 0;
    pub const DIFFICULTY: u8 = 1;
    pub const BENEFIT_START: u8 = 2;
    pub const CONTACT: u8 = 3;
    pub const RECOMMEND: u8 = 4;
    pub const ENROL: u8 = 5;
    pub const FINISH_TRAINING: u8 = 6;
    pub const EXIT: u8 = 7;
    pub const PLACE: u8 = 8;
    pub const BENEFIT_END: u8 = 9;
    pub const PROPOSE: u8 = 10;
    pub const APPROVE: u8 = 11;
    pub const REVOKE: u8 = 12;
    pub const END_PLACEMENT: u8 = 13;
    pub const LEAVE_HOUSEHOLD: u8 = 14;
}

/// One planned command.
#[derive(Debug, Clone)]
struct Step {
    date: Date,
    /// The spell it belongs to (1, 2, …): a spell's facts of a day come before
    /// the next spell's registration that day.
    spell: u8,
    order: u8,
    /// Where the person lives: the office (street) and caseworker (community).
    place: PlaceRef,
    command: PersonCommand,
    /// The rejection this step provokes on purpose.
    expect: Option<RejectionCode>,
}

/// How a spell ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Placed(Date),
    Exited(Date, ExitReason),
    /// Still open after the window.
    Open,
}

impl Outcome {
    fn date(self) -> Option<Date> {
        match self {
            Self::Placed(d) | Self::Exited(d, _) => Some(d),
            Self::Open => None,
        }
    }
}

/// A person's commands, in the order they are sent.
fn plan_person(
    cfg: &GeneratorConfig,
    places: &Places,
    population: &Population,
    index: usize,
) -> anyhow::Result<Vec<Step>> {
    let m = &population.members[index];
    let hh = &population.households[m.household as usize];
    let mut planner = Planner {
        rng: rng_for(cfg.seed, "life", index as u64),
        index,
        start: cfg.start,
        end: cfg.end,
        places,
        hh,
        m,
        steps: Vec::new(),
        spell: 0,
        place: m.home,
        trainings: 0,
        subsidies: 0,
        public_welfare_posts: 0,
        difficulty: false,
        special: false,
        malanhua: None,
        leaves_on: None,
    };
    planner.plan()?;
    let mut steps = planner.steps;
    steps.sort_by_key(|s| (s.date, s.spell, s.order));
    Ok(steps)
}

struct Planner<'a> {
    rng: ChaCha8Rng,
    index: usize,
    start: Date,
    end: Date,
    places: &'a Places,
    hh: &'a Household,
    m: &'a Member,
    steps: Vec<Step>,
    /// The current spell's number (1, 2, …).
    spell: u8,
    /// Where the person lives now.
    place: PlaceRef,
    trainings: u32,
    subsidies: u32,
    public_welfare_posts: u32,
    /// Recognised as having employment difficulty.
    difficulty: bool,
    /// … in one of the special categories.
    special: bool,
    /// The last completed start-up training: completion date and provider.
    malanhua: Option<(Date, String)>,
    /// A grown child who moves out leaves the household on this day; later
    /// registrations name no household.
    leaves_on: Option<Date>,
}

impl Planner<'_> {
    fn push(&mut self, date: Date, order: u8, command: PersonCommand) {
        self.steps.push(Step { date, spell: self.spell, order, place: self.place, command, expect: None });
    }

    fn female(&self) -> bool {
        self.m.gender == Gender::Female
    }

    fn age_on(&self, d: Date) -> u32 {
        full_years_between(self.m.birth, d)
    }

    fn retirement(&self) -> Date {
        let age = if self.female() { RETIREMENT_WOMEN } else { RETIREMENT_MEN };
        plus_months(self.m.birth, 12 * age)
    }

    fn district_code(&self) -> &'static str {
        self.places.district(self.place).code
    }

    /// Hukou in the district the person lives in.
    fn local(&self) -> bool {
        self.hh.hukou.as_str() == self.district_code()
    }

    fn zero_employment(&self) -> bool {
        self.hh.zero_employment_on.is_some()
    }

    fn plan(&mut self) -> anyhow::Result<()> {
        let first = self.first_registration();
        if self.m.relation == HouseholdRelation::Child && self.rng.random_bool(0.03) {
            self.leaves_on = Some(plus_days(first, self.rng.random_range(30..=720))).filter(|l| *l <= self.end);
        }
        let mut next = Some(first);
        while let Some(r) = next {
            if r > self.end || self.spell >= MAX_SPELLS || plus_days(r, 90) >= self.retirement() {
                break;
            }
            if self.spell > 0 && self.rng.random_bool(0.08) {
                // Moved within the district since the last spell.
                self.place = self.places.pick_in(&mut self.rng, self.place.district);
            }
            self.spell += 1;
            next = self.spell_from(r)?;
        }
        if let (Some(on), true) = (self.leaves_on, self.spell > 0) {
            let leave = HouseholdLeave { household_id: self.hh.id };
            self.push(on, order::LEAVE_HOUSEHOLD, PersonCommand::LeaveHousehold(leave));
        }
        Ok(())
    }

    fn first_registration(&mut self) -> Date {
        let (start, end) = (self.start, self.end);
        if let Some(z) = self.hh.zero_employment_on {
            // The household is identified; its members register within days.
            return plus_days(z, self.rng.random_range(0..=3)).min(end);
        }
        if let Some(g) = self.m.graduation.as_ref().filter(|_| self.m.recent_graduate) {
            let summer = ymd(g.year, 7, 1);
            let date = if self.rng.random_bool(0.6) {
                plus_days(summer, self.rng.random_range(0..=90))
            } else {
                day_between(&mut self.rng, summer, plus_months(summer, 24))
            };
            if (start..=end).contains(&date) {
                return date;
            }
            let lo = summer.clamp(start, end);
            return day_between(&mut self.rng, lo, plus_months(summer, 24).clamp(lo, end));
        }
        day_between(&mut self.rng, start, end)
    }

    fn registration(&self, on: Date) -> anyhow::Result<Registration> {
        let m = self.m;
        let t = m.traits;
        let mut groups = BTreeSet::new();
        let mut add = |on: bool, g: PersonGroup| {
            if on {
                groups.insert(g);
            }
        };
        add(m.recent_graduate, PersonGroup::Graduate);
        add(m.after_school && self.spell == 1, PersonGroup::GraduateUnemployedAfterSchool);
        add(t.haihe_talent, PersonGroup::HaiheTalent);
        add(t.rural_labour, PersonGroup::RuralLabour);
        add(t.poor_village, PersonGroup::PoorVillageLabour);
        add(t.migrant_worker, PersonGroup::MigrantWorker);
        add(t.returning_founder, PersonGroup::ReturningFounder);
        add(t.veteran, PersonGroup::Veteran);
        add(t.disabled, PersonGroup::Disabled);
        add(t.military_spouse, PersonGroup::MilitarySpouse);
        add(t.registered_poor, PersonGroup::RegisteredPoorLabour);
        add(t.relocated_farmer, PersonGroup::RelocatedFarmer);
        add(self.zero_employment() && self.spell == 1, PersonGroup::ZeroEmploymentHousehold);
        add(self.hh.minimum_allowance, PersonGroup::MinimumLivingAllowance);
        add(self.hh.low_income, PersonGroup::LowIncomeFamily);
        add(self.hh.single_parent && m.relation == HouseholdRelation::Head, PersonGroup::SingleParent);
        add(t.supports_ill_relative, PersonGroup::SupportsSeriouslyIllRelative);
        Ok(Registration {
            resident_id: m.resident_id.clone().into(),
            name: Some(m.name.clone()),
            hukou: Hukou { county: self.hh.hukou.clone(), nature: self.hh.nature },
            residence: self.places.residence(self.place)?,
            education: m.education,
            graduation: m.graduation.clone(),
            household: Some(HouseholdMembership { household_id: self.hh.id, relation: m.relation })
                .filter(|_| self.leaves_on.is_none_or(|l| on < l)),
            groups,
        })
    }

    /// The difficulty categories a recognition on `on` would carry.
    fn difficulty_categories(&mut self, on: Date) -> BTreeSet<DifficultyCategory> {
        let mut c = BTreeSet::new();
        let (hh, t) = (self.hh, self.m.traits);
        let age = self.age_on(on);
        let (age4050, older) = if self.female() { (age >= 40, age >= 35) } else { (age >= 50, age >= 45) };
        let mut add = |on: bool, p: f64, category: DifficultyCategory, rng: &mut ChaCha8Rng| {
            if on && rng.random_bool(p) {
                c.insert(category);
            }
        };
        let zero = self.zero_employment() && self.spell == 1;
        add(zero, 0.9, DifficultyCategory::ZeroEmploymentHousehold, &mut self.rng);
        add(hh.minimum_allowance, 0.8, DifficultyCategory::MinimumLivingAllowanceHousehold, &mut self.rng);
        let single_parent = hh.single_parent && self.m.relation == HouseholdRelation::Head;
        add(single_parent, 0.8, DifficultyCategory::SingleParentHousehold, &mut self.rng);
        add(t.supports_ill_relative, 0.8, DifficultyCategory::SupportsSeriouslyIllRelative, &mut self.rng);
        add(t.disabled, 0.7, DifficultyCategory::Disabled, &mut self.rng);
        add(t.registered_poor, 0.6, DifficultyCategory::RegisteredPoorLabour, &mut self.rng);
        add(age4050, 0.08, DifficultyCategory::Age4050, &mut self.rng);
        add(older && !age4050, 0.05, DifficultyCategory::OlderWorker, &mut self.rng);
        c
    }

    /// Plans one spell registered on `r`; returns the next registration's date.
    fn spell_from(&mut self, r: Date) -> anyhow::Result<Option<Date>> {
        let registration = self.registration(r)?;
        self.push(r, order::REGISTER, PersonCommand::RegisterUnemployment(registration.clone()));

        let categories = self.difficulty_categories(r);
        if !categories.is_empty() {
            self.difficulty = true;
            self.special |= categories.iter().any(|c| c.is_special());
        }
        let outcome = self.outcome(r);
        let spell_end = outcome.date().filter(|d| *d <= self.end);
        // The last day facts of the open registration can be dated.
        let last = spell_end.unwrap_or(self.end);

        // A second office tries to register the person again (rejected on purpose).
        if self.spell == 1 && last > r && self.rng.random_bool(0.003) {
            let d = plus_days(r, self.rng.random_range(1..=5)).min(last);
            self.steps.push(Step {
                date: d,
                spell: self.spell,
                order: order::REGISTER,
                place: self.place,
                command: PersonCommand::RegisterUnemployment(registration),
                expect: Some(RejectionCode::AlreadyRegistered),
            });
        }

        if !categories.is_empty() {
            let on = if self.zero_employment() { r } else { plus_days(r, self.rng.random_range(0..=10)).min(last) };
            self.recognise(on, categories, 36);
        }
        let long_term_mark = plus_days(plus_months(r, 6), self.rng.random_range(5..=30));
        if long_term_mark <= last && outcome.date().is_none_or(|d| d > long_term_mark) && self.rng.random_bool(0.35) {
            let mut categories = BTreeSet::from([DifficultyCategory::LongTermUnemployed]);
            let age = self.age_on(long_term_mark);
            if age >= if self.female() { 40 } else { 50 } {
                categories.insert(DifficultyCategory::Age4050);
            }
            self.difficulty = true;
            self.recognise(long_term_mark, categories, 12);
        }

        self.matchmaker_and_followups(r, last);
        self.benefit(r, outcome, spell_end, last);
        if !matches!(outcome, Outcome::Exited(_, ExitReason::Deceased)) {
            self.training(r, last);
        }

        match outcome {
            Outcome::Placed(p) if p <= self.end => {
                let free_from = self.placement(r, p)?;
                Ok(match free_from {
                    Some(q) if self.rng.random_bool(0.7) => Some(plus_days(q, self.rng.random_range(0..=45))),
                    _ => None,
                })
            }
            Outcome::Exited(x, reason) if x <= self.end => {
                self.push(x, order::EXIT, PersonCommand::ExitRegistration(RegistrationExit { reason }));
                let again = match reason {
                    ExitReason::NoLongerSeeking => 0.35,
                    ExitReason::Employed => 0.3,
                    ExitReason::EnteredSchool => 0.2,
                    ExitReason::MovedAway => 0.1,
                    ExitReason::Other => 0.3,
                    _ => 0.0,
                };
                Ok(self.rng.random_bool(again).then(|| plus_days(x, self.rng.random_range(30..=240))))
            }
            _ => Ok(None),
        }
    }

    fn recognise(&mut self, on: Date, categories: BTreeSet<DifficultyCategory>, months: u32) {
        let to = plus_months(on, months).pred_opt().unwrap_or(on);
        let valid = DateRange { from: on, to };
        self.push(on, order::DIFFICULTY, PersonCommand::RecogniseDifficulty(Difficulty { categories, valid }));
    }

    /// How the spell registered on `r` ends, and when.
    fn outcome(&mut self, r: Date) -> Outcome {
        let zero_head = self.zero_employment() && self.m.relation == HouseholdRelation::Head && self.spell == 1;
        let p_place = if zero_head {
            1.0
        } else if self.m.recent_graduate {
            0.97
        } else if self.difficulty {
            0.95
        } else if self.age_on(r) >= 50 {
            0.90
        } else {
            0.95
        };
        let outcome = if self.rng.random_bool(p_place) {
            let days = if zero_head {
                self.rng.random_range(5..=25)
            } else {
                let (lo, hi) = choose(
                    &mut self.rng,
                    &[((1u64, 7u64), 0.35), ((8, 30), 0.35), ((31, 90), 0.18), ((91, 182), 0.07), ((183, 330), 0.05)],
                );
                self.rng.random_range(lo..=hi)
            };
            Outcome::Placed(plus_days(r, days))
        } else if self.rng.random_bool(0.75) {
            let (young, older) = (self.age_on(r) < 25, self.age_on(r) > 45);
            let male = !self.female();
            let reason = choose(
                &mut self.rng,
                &[
                    (ExitReason::MovedAway, 0.20),
                    (ExitReason::NoLongerSeeking, 0.25),
                    (ExitReason::Employed, 0.30),
                    (ExitReason::Other, 0.05),
                    (ExitReason::EnteredSchool, if young { 0.15 } else { 0.0 }),
                    (ExitReason::Enlisted, if young && male { 0.10 } else { 0.0 }),
                    (ExitReason::Deceased, if older { 0.01 } else { 0.0 }),
                ],
            );
            Outcome::Exited(plus_days(r, self.rng.random_range(20..=240)), reason)
        } else if self.rng.random_bool(0.5) {
            Outcome::Exited(plus_days(r, self.rng.random_range(365..=540)), ExitReason::NoLongerSeeking)
        } else {
            Outcome::Open
        };
        // Reaching retirement age ends an open registration first.
        let retirement = self.retirement();
        if retirement > r && outcome.date().is_none_or(|d| d > retirement) {
            return Outcome::Exited(retirement, ExitReason::ReachedRetirementAge);
        }
        outcome
    }

    fn contact(&mut self, on: Date, channel: ContactChannel, outcome: ContactOutcome, note: &str) {
        let contact = Contact { channel, outcome, note: note.to_string() };
        self.push(on, order::CONTACT, PersonCommand::RecordContact(contact));
    }

    fn recommend(&mut self, on: Date, two_way: bool) {
        let district = self.district_code();
        let n = self.rng.random_range(0..400);
        let recommendation = JobRecommendation {
            vacancy_id: format!("V-{district}-{}-{:04}", on.format("%Y%m"), self.rng.random_range(0..10_000)),
            enterprise: Some(employer_code("91", district, n)),
            two_way,
        };
        self.push(on, order::RECOMMEND, PersonCommand::RecommendJob(recommendation));
    }

    /// The community matchmaker's answer (same-day contact, two-way
    /// recommendation within 3 days), monthly follow-ups, more recommendations.
    fn matchmaker_and_followups(&mut self, r: Date, last: Date) {
        let same_day = self.rng.random_bool(0.96);
        if same_day {
            self.contact(r, ContactChannel::InPerson, ContactOutcome::StillSeeking, "登记当日首次面谈，了解求职意向");
        }
        let mut m = month_start(r);
        while m <= last {
            let (lo, hi) = (m.max(r), plus_months(m, 1).pred_opt().unwrap_or(m).min(last));
            if !(m == month_start(r) && same_day) && self.rng.random_bool(0.95) {
                let on = day_between(&mut self.rng, lo, hi);
                let channel = choose(
                    &mut self.rng,
                    &[
                        (ContactChannel::Phone, 0.50),
                        (ContactChannel::InPerson, 0.25),
                        (ContactChannel::Online, 0.10),
                        (ContactChannel::HomeVisit, if self.difficulty { 0.15 } else { 0.05 }),
                        (ContactChannel::Sms, 0.05),
                    ],
                );
                let outcome = choose(
                    &mut self.rng,
                    &[
                        (ContactOutcome::StillSeeking, 0.86),
                        (ContactOutcome::NotReached, 0.10),
                        (ContactOutcome::NotSeeking, 0.04),
                    ],
                );
                self.contact(on, channel, outcome, "月度跟踪服务");
            }
            m = plus_months(m, 1);
        }

        let u: f64 = self.rng.random();
        if u < 0.94 {
            let days = if self.rng.random_bool(0.55) { 0 } else { self.rng.random_range(1..=3) };
            self.recommend(plus_days(r, days).min(last), true);
        } else if u < 0.97 {
            let on = plus_days(r, self.rng.random_range(4..=10));
            if on <= last {
                self.recommend(on, true);
            }
        }
        let mut t = plus_days(r, self.rng.random_range(5..=15));
        let mut more = 0;
        while t <= last && more < 20 {
            if self.rng.random_bool(0.85) {
                let two_way = self.rng.random_bool(0.3);
                self.recommend(t, two_way);
                more += 1;
            }
            t = plus_days(t, self.rng.random_range(5..=15));
        }
    }

    /// Unemployment insurance benefit (失业保险金) for some with an insured past.
    fn benefit(&mut self, r: Date, outcome: Outcome, spell_end: Option<Date>, last: Date) {
        let insured_past = self.age_on(r) >= 25 && !(self.m.recent_graduate && self.spell == 1);
        if !insured_past || (last - r).num_days() < 7 || !self.rng.random_bool(0.22) {
            return;
        }
        let start = plus_days(r, self.rng.random_range(0..=15)).min(last);
        let months = choose(&mut self.rng, &[(3u32, 1.0), (6, 2.0), (9, 1.0), (12, 3.0), (18, 1.0), (24, 1.0)]);
        let retirement = self.retirement();
        let exhausted = plus_months(start, months);
        let extended_to_retirement = exhausted < retirement && (retirement - exhausted).num_days() < 365;
        self.push(
            start,
            order::BENEFIT_START,
            PersonCommand::StartBenefit(BenefitStart { months, extended_to_retirement }),
        );
        let nominal_end = if extended_to_retirement { retirement } else { exhausted };
        let (on, reason) = match spell_end {
            Some(e) if e < nominal_end => {
                let reason = match outcome {
                    Outcome::Placed(_) | Outcome::Exited(_, ExitReason::Employed) => BenefitEndReason::Employed,
                    Outcome::Exited(_, ExitReason::ReachedRetirementAge) => BenefitEndReason::Retired,
                    _ => BenefitEndReason::Other,
                };
                (e, reason)
            }
            _ if nominal_end <= last => (
                nominal_end,
                if extended_to_retirement { BenefitEndReason::Retired } else { BenefitEndReason::Exhausted },
            ),
            _ => return,
        };
        self.push(on, order::BENEFIT_END, PersonCommand::EndBenefit(BenefitEnd { reason }));
    }

    /// Training during the spell: vocational skills, start-up ("马兰花"), SIYB, online.
    fn training(&mut self, r: Date, last: Date) {
        let long = (last - r).num_days() > 60;
        if !self.rng.random_bool(if long { 0.35 } else { 0.10 }) {
            return;
        }
        let age = self.age_on(r);
        let founder_age = (22..=50).contains(&age);
        let programme = choose(
            &mut self.rng,
            &[
                (TrainingProgramme::VocationalSkills, 0.55),
                (TrainingProgramme::StartUpMalanhua, if founder_age { 0.30 } else { 0.05 }),
                (TrainingProgramme::ImproveYourBusiness, if founder_age { 0.05 } else { 0.0 }),
                (TrainingProgramme::OnlineVocational, 0.10),
            ],
        );
        let enrolled = plus_days(r, self.rng.random_range(5..=45));
        let enrolled = if enrolled <= last { enrolled } else { day_between(&mut self.rng, r, last) };
        let district = self.places.district(self.place);
        let provider = match programme {
            TrainingProgramme::StartUpMalanhua | TrainingProgramme::ImproveYourBusiness => {
                format!("{}区创业指导中心", district.name.trim_end_matches('区'))
            }
            _ => format!("{}区职业技能培训学校", district.name.trim_end_matches('区')),
        };
        self.trainings += 1;
        let training_id = format!("T{}-{}", self.spell, self.trainings);
        self.push(
            enrolled,
            order::ENROL,
            PersonCommand::EnrolTraining(TrainingEnrolment {
                training_id: training_id.clone(),
                programme,
                provider: provider.clone(),
            }),
        );
        let days = match programme {
            TrainingProgramme::VocationalSkills => self.rng.random_range(15..=60),
            TrainingProgramme::StartUpMalanhua => self.rng.random_range(10..=14),
            TrainingProgramme::ImproveYourBusiness => self.rng.random_range(5..=7),
            TrainingProgramme::OnlineVocational => self.rng.random_range(7..=30),
        };
        let finished = plus_days(enrolled, days);
        if finished > self.end {
            return; // still in training
        }
        if self.rng.random_bool(0.12) {
            let dropped = plus_days(enrolled, self.rng.random_range(1..=days));
            let reason = "个人原因中途退出".to_string();
            self.push(
                dropped,
                order::FINISH_TRAINING,
                PersonCommand::DropTraining(TrainingDrop { training_id, reason }),
            );
            return;
        }
        let certificate = match programme {
            TrainingProgramme::VocationalSkills => {
                Some(format!("职业技能等级证书 ZS{:08}", self.rng.random_range(0..100_000_000)))
            }
            TrainingProgramme::StartUpMalanhua => {
                Some(format!("创业培训合格证书 CY{:08}", self.rng.random_range(0..100_000_000)))
            }
            TrainingProgramme::ImproveYourBusiness => {
                Some(format!("SIYB合格证书 {:08}", self.rng.random_range(0..100_000_000)))
            }
            TrainingProgramme::OnlineVocational => None,
        };
        self.push(
            finished,
            order::FINISH_TRAINING,
            PersonCommand::CompleteTraining(TrainingCompletion { training_id, certificate }),
        );
        match programme {
            TrainingProgramme::StartUpMalanhua => {
                self.malanhua = Some((finished, provider.clone()));
                let on = plus_days(finished, self.rng.random_range(10..=40));
                let period = (finished, finished);
                self.grant(on, "startup-training", "002#40", 500, period, Payee::TrainingProvider(provider));
                if self.hh.hukou.as_str() == "120111" && self.district_code() == "120111" {
                    self.grant(on, "xiqing-startup-training", "000#13", 500, period, Payee::Person);
                }
            }
            TrainingProgramme::VocationalSkills if self.district_code() == "120101" && self.difficulty => {
                let on = plus_days(finished, self.rng.random_range(10..=40));
                self.grant(on, "training-living-allowance", "004#20", 1000, (enrolled, finished), Payee::Person);
            }
            TrainingProgramme::OnlineVocational if self.district_code() == "120101" => {
                let on = plus_days(finished, self.rng.random_range(10..=40));
                self.grant(
                    on,
                    "online-training",
                    "004#19",
                    600,
                    (enrolled, finished),
                    Payee::TrainingProvider(provider),
                );
            }
            _ => {}
        }
    }

    /// A subsidy granted on `on` (skipped after the window); 2 % revoked later.
    fn grant(&mut self, on: Date, programme: &str, clause: &str, yuan: i64, period: (Date, Date), payee: Payee) {
        if on > self.end {
            return;
        }
        let (Ok(amount), Ok(period)) = (Fen::positive(yuan * 100), DateRange::new(period.0, period.1)) else {
            return;
        };
        self.subsidies += 1;
        let subsidy_id = format!("S{}-{}", self.spell, self.subsidies);
        // Proposed by the community's caseworker, approved by the street's
        // supervisor (separation of duties). Synthetic programmes: the decider
        // is asked, the policy catalogue is not.
        let grant = SubsidyGrant {
            subsidy_id: subsidy_id.clone(),
            programme: programme.to_string(),
            amount,
            period,
            payee,
            policy_clause: clause.to_string(),
        };
        let proposal = SubsidyProposal {
            grant,
            rule_id: format!("generated.{programme}"),
            rule_valid_from: on,
            proposed_by: caseworker(self.place),
            reasons: Vec::new(),
            inputs: Default::default(),
        };
        self.push(on, order::PROPOSE, PersonCommand::ProposeSubsidy(proposal));
        let reviewer = Reviewer { user: supervisor(self.place), supervisor: true };
        let approval = ApproveProposal { proposal_id: subsidy_id.clone(), reviewer };
        self.push(on, order::APPROVE, PersonCommand::ApproveSubsidy(approval));
        if self.rng.random_bool(0.02) {
            let revoked = plus_days(on, self.rng.random_range(20..=150));
            if revoked <= self.end {
                let reason = choose(
                    &mut self.rng,
                    &[("材料不实，依规追回", 1.0), ("重复享受，依规追回", 1.0), ("未满补贴期离职，依规追回", 1.0)],
                );
                let revocation = SubsidyRevocation { subsidy_id, reason: reason.to_string() };
                self.push(revoked, order::REVOKE, PersonCommand::RevokeSubsidy(revocation));
            }
        }
    }

    fn placement_kind(&mut self, p: Date) -> PlacementKind {
        use PlacementKind as K;
        let zero_head = self.zero_employment() && self.m.relation == HouseholdRelation::Head && self.spell == 1;
        let after_malanhua = self.malanhua.as_ref().is_some_and(|(c, _)| *c <= p && p <= plus_months(*c, 6));
        let kind = if zero_head {
            choose(&mut self.rng, &[(K::PublicWelfarePost, 0.6), (K::CommunityServicePost, 0.2), (K::Enterprise, 0.2)])
        } else if after_malanhua {
            choose(
                &mut self.rng,
                &[(K::StartUp, 0.40), (K::SelfEmployed, 0.25), (K::Enterprise, 0.25), (K::Flexible, 0.10)],
            )
        } else if self.m.recent_graduate && self.spell == 1 {
            choose(
                &mut self.rng,
                &[
                    (K::Enterprise, 0.66),
                    (K::Internship, 0.14),
                    (K::Flexible, 0.10),
                    (K::StartUp, 0.04),
                    (K::SelfEmployed, 0.03),
                    (K::CommunityServicePost, 0.03),
                ],
            )
        } else if self.difficulty {
            choose(
                &mut self.rng,
                &[
                    (K::Enterprise, 0.40),
                    (K::PublicWelfarePost, 0.25),
                    (K::CommunityServicePost, 0.13),
                    (K::Flexible, 0.17),
                    (K::SelfEmployed, 0.05),
                ],
            )
        } else {
            choose(
                &mut self.rng,
                &[
                    (K::Enterprise, 0.62),
                    (K::Flexible, 0.20),
                    (K::SelfEmployed, 0.08),
                    (K::StartUp, 0.02),
                    (K::PublicWelfarePost, 0.03),
                    (K::CommunityServicePost, 0.05),
                ],
            )
        };
        // Public-welfare posts go mostly to local hukou, and at most twice (002 #38).
        if kind == K::PublicWelfarePost
            && (self.public_welfare_posts >= 2 || (!self.local() && self.rng.random_bool(0.9)))
        {
            return K::CommunityServicePost;
        }
        kind
    }

    /// Placement on `p` of the spell registered on `r`, what follows it while
    /// it lasts, and its end. Returns the day the person is free again, if the
    /// (last) placement ends in the window.
    fn placement(&mut self, r: Date, mut p: Date) -> anyhow::Result<Option<Date>> {
        use PlacementKind as K;
        let mut kind = self.placement_kind(p);
        let district = self.district_code();
        let employer = match kind {
            K::Enterprise | K::Internship => {
                let d = if self.rng.random_bool(0.85) {
                    district
                } else {
                    self.places.districts[self.places.pick_district(&mut self.rng) as usize].code
                };
                Some(employer_code("91", d, self.rng.random_range(0..400)))
            }
            K::PublicWelfarePost => Some(employer_code("12", district, u32::from(self.place.street))),
            K::CommunityServicePost => Some(employer_code("52", district, self.rng.random_range(0..50))),
            K::SelfEmployed => {
                self.rng.random_bool(0.6).then(|| employer_code("92", district, 1000 + self.index as u32))
            }
            K::StartUp => Some(employer_code("91", district, 1_000_000 + self.index as u32)),
            K::Flexible => None,
        };
        let mut contract_months = self.contract_months(kind);
        loop {
            let placement = Placement { kind, employer: employer.clone(), contract_months };
            self.push(p, order::PLACE, PersonCommand::RecordPlacement(placement));
            if kind == K::PublicWelfarePost {
                self.public_welfare_posts += 1;
            }
            let planned_end = match kind {
                K::Internship => contract_months.map(|m| plus_months(p, m)),
                K::PublicWelfarePost | K::CommunityServicePost => {
                    contract_months.filter(|_| self.rng.random_bool(0.7)).map(|m| plus_months(p, m))
                }
                K::Enterprise => self.rng.random_bool(0.35).then(|| plus_days(p, self.rng.random_range(60..=540))),
                K::Flexible => self.rng.random_bool(0.45).then(|| plus_days(p, self.rng.random_range(60..=450))),
                K::SelfEmployed | K::StartUp => {
                    self.rng.random_bool(0.25).then(|| plus_days(p, self.rng.random_range(120..=600)))
                }
            };
            let ended = planned_end.filter(|q| *q <= self.end);
            let last_employed = ended.unwrap_or(self.end);

            if self.rng.random_bool(0.35) {
                self.contact(p, ContactChannel::Phone, ContactOutcome::FoundWork, "确认已就业");
            }
            // 稳岗回访: monthly for half a year, then every other month.
            let mut k = 1;
            loop {
                let t = plus_months(p, if k <= 6 { k } else { 6 + 2 * (k - 6) });
                if t > last_employed {
                    break;
                }
                if self.rng.random_bool(if k <= 6 { 0.85 } else { 0.75 }) {
                    let on = plus_days(t, self.rng.random_range(0..=5)).min(last_employed);
                    let outcome =
                        if self.rng.random_bool(0.9) { ContactOutcome::FoundWork } else { ContactOutcome::NotReached };
                    self.contact(on, ContactChannel::Phone, outcome, "就业后稳岗回访");
                }
                k += 1;
            }
            self.placement_subsidies(r, p, kind, employer.as_ref(), contract_months, ended);

            let Some(q) = ended else { return Ok(None) };
            let reason = match kind {
                K::Internship => PlacementEndReason::ContractExpired,
                K::PublicWelfarePost | K::CommunityServicePost => PlacementEndReason::PostEnded,
                K::SelfEmployed | K::StartUp => PlacementEndReason::BusinessClosed,
                K::Flexible => {
                    choose(&mut self.rng, &[(PlacementEndReason::Resigned, 0.5), (PlacementEndReason::Other, 0.5)])
                }
                K::Enterprise => choose(
                    &mut self.rng,
                    &[
                        (PlacementEndReason::ContractExpired, 0.35),
                        (PlacementEndReason::Resigned, 0.35),
                        (PlacementEndReason::Dismissed, 0.15),
                        (PlacementEndReason::EmployerClosed, 0.15),
                    ],
                ),
            };
            self.push(q, order::END_PLACEMENT, PersonCommand::EndPlacement(PlacementEnd { reason }));
            // Half of the interns are kept on by their host (a day or more later).
            let kept = plus_days(q, self.rng.random_range(1..=5));
            if kind == K::Internship && kept <= self.end && self.rng.random_bool(0.5) {
                p = kept;
                kind = K::Enterprise;
                contract_months = self.contract_months(kind).or(Some(12));
                continue;
            }
            return Ok(Some(q));
        }
    }

    fn contract_months(&mut self, kind: PlacementKind) -> Option<u32> {
        use PlacementKind as K;
        match kind {
            K::Enterprise => choose(&mut self.rng, &[(Some(12), 0.3), (Some(24), 0.2), (Some(36), 0.3), (None, 0.2)]),
            K::Internship => Some(choose(&mut self.rng, &[(3, 0.3), (6, 0.5), (12, 0.2)])),
            K::PublicWelfarePost => Some(choose(&mut self.rng, &[(12, 0.4), (24, 0.3), (36, 0.3)])),
            K::CommunityServicePost => Some(choose(&mut self.rng, &[(12, 0.6), (24, 0.4)])),
            K::Flexible | K::SelfEmployed | K::StartUp => None,
        }
    }

    /// The subsidies a placement brings, by kind, person and district.
    fn placement_subsidies(
        &mut self,
        r: Date,
        p: Date,
        kind: PlacementKind,
        employer: Option<&CreditCode>,
        contract_months: Option<u32>,
        ended: Option<Date>,
    ) {
        use PlacementKind as K;
        let end = self.end;
        let still_on = |d: Date| d <= end && ended.is_none_or(|q| d < q);
        let year = |from: Date| (from, plus_months(from, 12).pred_opt().unwrap_or(from));
        let unemployed_half_year = (p - r).num_days() >= 182;
        let recent_graduate =
            self.m.graduation.as_ref().is_some_and(|g| self.m.recent_graduate && p.year() - g.year <= 2);
        let district = self.district_code();
        let to_employer = employer.cloned().map(Payee::Enterprise);
        let long_contract = contract_months.is_some_and(|m| m >= 12);

        if matches!(kind, K::Flexible | K::SelfEmployed)
            && (recent_graduate || self.difficulty)
            && self.rng.random_bool(0.7)
        {
            let on = plus_days(p, self.rng.random_range(30..=60));
            let monthly = if recent_graduate {
                667
            } else if self.special {
                750
            } else {
                500
            };
            if still_on(on) {
                self.grant(on, "flexible-employment-insurance", "002#36", 12 * monthly, year(p), Payee::Person);
            }
        }
        if let (K::Enterprise, Some(payee)) = (kind, to_employer.clone()) {
            if self.difficulty && self.rng.random_bool(0.6) {
                let on = plus_days(p, self.rng.random_range(90..=120));
                if still_on(on) {
                    self.grant(on, "enterprise-social-insurance", "002#33", 12 * 1100, year(p), payee.clone());
                }
            }
            let clause = match district {
                "120111" if unemployed_half_year || self.m.traits.migrant_worker || recent_graduate => Some("000#9"),
                "120101" if recent_graduate || self.m.traits.rural_labour => Some("004#10"),
                _ => None,
            };
            if let Some(clause) = clause.filter(|_| long_contract && self.rng.random_bool(0.8)) {
                let on = plus_days(p, self.rng.random_range(60..=120));
                if still_on(on) {
                    self.grant(on, "hiring-subsidy", clause, 1000, (p, p), payee.clone());
                }
            }
            if district == "120111" && self.hh.hukou.as_str() == "120111" && long_contract && self.rng.random_bool(0.85)
            {
                let on = plus_days(plus_months(p, 6), self.rng.random_range(0..=30));
                let t = self.m.traits;
                let age = self.age_on(p);
                let hard = t.veteran
                    || t.disabled
                    || t.relocated_farmer
                    || t.poor_village
                    || t.military_spouse
                    || age >= if self.female() { 40 } else { 50 };
                if still_on(on) {
                    let yuan = if hard { 3400 } else { 2400 };
                    self.grant(on, "xiqing-local-hiring", "000#9", yuan, (p, plus_months(p, 6)), payee);
                }
            }
        }
        if let (K::PublicWelfarePost | K::CommunityServicePost, Some(payee)) = (kind, to_employer.clone()) {
            let (programme, clause, monthly) = if kind == K::PublicWelfarePost {
                ("public-welfare-post", "002#38", 2320)
            } else {
                ("community-service-post", "002#37", 1000)
            };
            for y in 0..3 {
                let from = plus_months(p, 12 * y);
                let on = plus_days(from, self.rng.random_range(20..=45));
                if !still_on(on) {
                    break;
                }
                self.grant(on, programme, clause, 12 * monthly, year(from), payee.clone());
            }
        }
        if let (K::Internship, Some(payee), Some(q), Some(months)) = (kind, to_employer, ended, contract_months) {
            let on = plus_days(q, self.rng.random_range(10..=30));
            self.grant(on, "internship-allowance", "002#28", i64::from(months) * 1856, (p, q), payee);
        }
        if kind == K::StartUp && (unemployed_half_year || self.m.traits.returning_founder) {
            let on = plus_days(plus_months(p, 12), self.rng.random_range(0..=30));
            if still_on(on) {
                self.grant(on, "startup-subsidy", "002#43", 3000, year(p), Payee::Person);
            }
        }
        let after_malanhua = self.malanhua.clone().filter(|(c, _)| *c <= p && p <= plus_months(*c, 6));
        if let (K::StartUp | K::SelfEmployed, Some((_, provider))) = (kind, after_malanhua) {
            let on = plus_days(p, self.rng.random_range(30..=60));
            self.grant(on, "startup-training-success", "002#40", 1000, (p, p), Payee::TrainingProvider(provider));
        }
    }
}

/// A unified social credit code (GB 32100-2015) of a generated employer:
/// registration authority and kind (`91` enterprise, `92` individual business,
/// `12` public institution, `52` social organisation), the district, nine
/// characters numbering the employer, and the check character.
fn employer_code(kind: &str, district: &str, n: u32) -> CreditCode {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    // Spread the numbers over the code space; "MA" marks the newer codes.
    let mut x = u64::from(n).wrapping_mul(2_654_435_761) ^ u64::from(district.parse::<u32>().unwrap_or(0));
    let mut body = format!("{kind}{district}MA");
    for _ in 0..7 {
        body.push(char::from(ALPHABET[(x % 31) as usize]));
        x /= 31;
    }
    // The body is built from the code's alphabet, 17 characters long.
    let check = CreditCode::check_character(&body).expect("a 17-character body from the code's alphabet");
    body.push(check);
    CreditCode::parse(&body).expect("built with the check character of GB 32100-2015, from its alphabet")
}

#[cfg(test)]
mod tests {
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
            out.entry(e.stream.to_string()).or_default().push((
                e.revision,
                e.event_id,
                e.event_type,
                e.data,
                e.metadata,
            ));
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
}

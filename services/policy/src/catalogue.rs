//! Loading and validating the catalogue.
//!
//! A catalogue is read from every `*.toml` file of a directory (sorted by
//! name), or from the files shipped inside the binary. Loading either yields a
//! [`Catalogue`] in which every rule, parameter and retirement law passed all
//! checks below, or a [`CatalogueError`] listing every problem found, each
//! naming the file, the item (rule id, parameter name) and the field.
//!
//! # Checks
//! - Syntax and shape: unknown keys, unknown enum names (groups, placement
//!   kinds, …), wrong types, dates that are not dates (serde, `deny_unknown_fields`).
//! - Per rule: id `<jurisdiction key>.<…>` in lowercase segments; programme a
//!   slug (`[a-z0-9-]`); amounts > 0; `valid_to` not before `valid_from`;
//!   source clauses cite a declared document; entitlements and only they have
//!   no amount; `wording` keys name real conditions; `verify` carries a note.
//! - Across rules: versions of one id do not overlap in time and agree on
//!   programme, jurisdiction, subject and payee; referenced programmes
//!   (`excludes`, `requires_grant`) exist; referenced parameters exist, have
//!   the right unit and a value on every day the rule is in force.
//! - Parameters: values ascending, not overlapping, positive; an unverified
//!   (`verify = true`) value carries a note.
//! - Retirement laws: complete schedules, periods not overlapping, exactly one
//!   open-ended (the law in force now).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::{Path, PathBuf},
    sync::LazyLock,
};

use leye_domain::{Date, values::DistrictCode};

use crate::{
    dates::month_starts,
    model::{
        AmountRule, CatalogueFile, Conditions, Document, InForceBy, Jurisdiction, Nature, Parameter, ParameterUnit,
        ParameterValue, RetirementLaw, RetirementSchedule, Rule, WORDING_KEYS,
    },
};

/// The shipped catalogue files, embedded at build time so that the server runs
/// with no configuration. Names are as in the repository.
pub const SHIPPED_FILES: &[(&str, &str)] = &[
    ("policies/binhai.toml", include_str!("../../../policies/binhai.toml")),
    ("policies/heping.toml", include_str!("../../../policies/heping.toml")),
    ("policies/parameters.toml", include_str!("../../../policies/parameters.toml")),
    ("policies/tianjin.toml", include_str!("../../../policies/tianjin.toml")),
    ("policies/xiqing.toml", include_str!("../../../policies/xiqing.toml")),
];

static DEFAULT: LazyLock<Catalogue> = LazyLock::new(|| {
    // The shipped files are checked by the test `shipped_catalogue_loads`; a
    // build whose files fail it never passes CI.
    Catalogue::shipped().expect("the shipped policy catalogue is valid")
});

/// The shipped catalogue, loaded once.
pub fn default_catalogue() -> &'static Catalogue {
    &DEFAULT
}

// === errors ===

/// One thing wrong with the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as named when loading (e.g. `policies/xiqing.toml`).
    pub file: String,
    /// The item: `rule "xiqing.hiring.one-time"`, `parameter "minimum_wage_monthly"`, …
    pub item: Option<String>,
    /// The field path inside the item, e.g. `amount.fen`, `eligible.groups_any`.
    pub field: Option<String>,
    /// The line, for syntax and shape errors.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(item) = &self.item {
            write!(f, ": {item}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field {field}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// Why a catalogue was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl CatalogueError {
    /// The problems found (empty for I/O errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid(p) => p,
            Self::Io { .. } => &[],
        }
    }
}

// === the catalogue ===

/// A jurisdiction declared by a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionInfo {
    pub key: String,
    pub jurisdiction: Jurisdiction,
    pub name: String,
}

/// The validated policy catalogue: rules (with versions), source documents,
/// dated parameters and retirement laws. Immutable once loaded.
#[derive(Debug, Clone)]
pub struct Catalogue {
    rules: Vec<Rule>,
    documents: BTreeMap<String, Document>,
    parameters: BTreeMap<String, Parameter>,
    retirement: Vec<RetirementLaw>,
    jurisdictions: Vec<JurisdictionInfo>,
    /// Former programme code → the programme it is now (`formerly`).
    former_programmes: BTreeMap<String, String>,
    /// SHA-256 of the files it was read from ([`Catalogue::fingerprint`]).
    fingerprint: String,
}

/// Why no rule version applies to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotApplicable {
    /// No rule has this id.
    UnknownRule,
    /// The rule belongs to another jurisdiction.
    OtherJurisdiction(Jurisdiction),
    /// No version is in force on the date; the versions' periods.
    NotInForce(Vec<(Date, Option<Date>)>),
    /// A city rule the district's own rule (the id) stands in for on the date.
    ReplacedBy(String),
}

impl Catalogue {
    /// Loads every `*.toml` file in `dir`.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, CatalogueError> {
        let dir = dir.as_ref();
        let io = |path: &Path, source| CatalogueError::Io { path: path.display().to_string(), source };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            files.push((p.display().to_string(), text));
        }
        Self::from_texts(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// The catalogue shipped in the binary ([`SHIPPED_FILES`]).
    pub fn shipped() -> Result<Self, CatalogueError> {
        Self::from_texts(SHIPPED_FILES.iter().copied())
    }

    /// The directory override if given, else the shipped catalogue.
    pub fn load(dir: Option<&Path>) -> Result<Self, CatalogueError> {
        match dir {
            Some(d) => Self::load_dir(d),
            None => Self::shipped(),
        }
    }

    /// Parses and validates named file texts.
    pub fn from_texts<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, CatalogueError> {
        let mut problems = Vec::new();
        let mut parsed = Vec::new();
        let mut parsed_texts = Vec::new();
        for (name, text) in files {
            parsed_texts.push((crate::fingerprint::file_name(name), text));
            match toml::from_str::<CatalogueFile>(text) {
                Ok(f) => parsed.push((name.to_string(), f)),
                Err(e) => problems.push(syntax_problem(name, text, &e)),
            }
        }
        let fingerprint = crate::fingerprint::of_files(&parsed_texts);
        let mut cat = build(parsed, &mut problems);
        cat.fingerprint = fingerprint;
        if problems.is_empty() { Ok(cat) } else { Err(CatalogueError::Invalid(problems)) }
    }

    /// Hex SHA-256 of the files the catalogue was read from, by file name
    /// (without the directory) and bytes: the same files give the same
    /// fingerprint wherever they lie, the built-in catalogue the same as a
    /// copy of `policies/`, and a changed byte (a comment too) another.
    /// Servers of one deployment compare it (`leye::settings`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// All rule versions, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn documents(&self) -> impl Iterator<Item = &Document> {
        self.documents.values()
    }

    pub fn jurisdictions(&self) -> &[JurisdictionInfo] {
        &self.jurisdictions
    }

    pub fn parameters(&self) -> impl Iterator<Item = &Parameter> {
        self.parameters.values()
    }

    pub fn retirement_laws(&self) -> &[RetirementLaw] {
        &self.retirement
    }

    /// The versions of one rule, oldest first.
    pub fn versions(&self, id: &str) -> Vec<&Rule> {
        let mut v: Vec<&Rule> = self.rules.iter().filter(|r| r.id == id).collect();
        v.sort_by_key(|r| r.valid_from);
        v
    }

    /// The version of rule `id` that applies in `district` on `date`.
    ///
    /// Precedence: a grant names its rule; the rule applies when its
    /// jurisdiction is the city (city-wide rules apply in every district) or
    /// the district itself, and one of its versions is in force on the date.
    /// District and city rules never override each other implicitly: each is
    /// its own rule, and [`Catalogue::rules_in_force`] lists both.
    pub fn rule_in_force(&self, id: &str, district: &DistrictCode, date: Date) -> Result<&Rule, NotApplicable> {
        let versions = self.applicable_versions(id, district)?;
        if let Some(by) = self.replaced_by(id, district, date) {
            return Err(NotApplicable::ReplacedBy(by.id.clone()));
        }
        versions
            .iter()
            .find(|r| r.in_force_on(date))
            .copied()
            .ok_or_else(|| NotApplicable::NotInForce(versions.iter().map(|r| (r.valid_from, r.valid_to)).collect()))
    }

    /// The versions of rule `id` (oldest first) when the rule applies in
    /// `district`: unknown ids and rules of another district are refused.
    pub fn applicable_versions(&self, id: &str, district: &DistrictCode) -> Result<Vec<&Rule>, NotApplicable> {
        let versions = self.versions(id);
        let Some(first) = versions.first() else { return Err(NotApplicable::UnknownRule) };
        if !first.jurisdiction.covers(district) {
            return Err(NotApplicable::OtherJurisdiction(first.jurisdiction.clone()));
        }
        Ok(versions)
    }

    /// Every rule version in force on `date` whose jurisdiction covers
    /// `district`, less the city rules the district's own rules replace then.
    pub fn rules_in_force<'a>(&'a self, district: &'a DistrictCode, date: Date) -> impl Iterator<Item = &'a Rule> {
        self.rules.iter().filter(move |r| {
            r.jurisdiction.covers(district) && r.in_force_on(date) && self.replaced_by(&r.id, district, date).is_none()
        })
    }

    /// The district rule in force on `date` that stands in for city rule `id`
    /// in `district` (`replaces`), if any.
    pub fn replaced_by(&self, id: &str, district: &DistrictCode, date: Date) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.jurisdiction == Jurisdiction::District(district.clone())
                && r.replaces.iter().any(|x| x == id)
                && r.in_force_on(date)
        })
    }

    /// The programme a recorded code stands for now: itself, or the programme
    /// that lists it under `formerly`.
    pub fn current_programme<'a>(&'a self, programme: &'a str) -> &'a str {
        self.former_programmes.get(programme).map_or(programme, String::as_str)
    }

    /// A parameter's value in force on `date`.
    pub fn parameter_on(&self, name: &str, date: Date) -> Option<&ParameterValue> {
        self.parameters.get(name)?.values.iter().find(|v| v.in_force_on(date))
    }

    /// The retirement-age law in force on `date`.
    pub fn retirement_law_on(&self, date: Date) -> Option<&RetirementLaw> {
        self.retirement.iter().find(|l| l.in_force_on(date))
    }

    /// Statutory retirement age and date: under the law in force on the day
    /// the age is reached (the 2024 decision governs those who reach retirement
    /// from 2025-01-01; earlier retirements keep the 1978 ages). Independent
    /// of the date a question is asked.
    pub fn retirement(
        &self,
        birth_date: Date,
        gender: leye_domain::values::Gender,
        post: crate::model::PostType,
    ) -> (crate::retirement::RetirementAge, Date) {
        self.retirement
            .iter()
            .map(|law| law.retirement(birth_date, gender, post))
            .zip(&self.retirement)
            .find(|((_, date), law)| law.in_force_on(*date))
            .map(|(r, _)| r)
            .unwrap_or_else(|| self.current_retirement_law().retirement(birth_date, gender, post))
    }

    /// The open-ended retirement law (validated to exist exactly once).
    pub fn current_retirement_law(&self) -> &RetirementLaw {
        // Validation requires exactly one open-ended law.
        self.retirement.iter().find(|l| l.valid_to.is_none()).unwrap_or(&self.retirement[0])
    }
}

// === syntax errors ===

fn syntax_problem(file: &str, text: &str, e: &toml::de::Error) -> Problem {
    let (line, item, field) = match e.span() {
        Some(span) => locate(text, span.start),
        None => (None, None, None),
    };
    Problem { file: file.to_string(), item, field, line, message: e.message().trim().to_string() }
}

/// Finds the line, the item (rule id or parameter name) and the field path of a
/// byte offset in a catalogue file.
fn locate(text: &str, offset: usize) -> (Option<usize>, Option<String>, Option<String>) {
    let offset = offset.min(text.len());
    let lines: Vec<&str> = text.lines().collect();
    let line_idx = text[..offset].matches('\n').count();
    let line = lines.get(line_idx).map(|l| l.trim()).unwrap_or("");
    let header_of = |l: &str| -> Option<String> {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    };
    // the table the offending line belongs to
    let table = lines[..=line_idx.min(lines.len().saturating_sub(1))].iter().rev().find_map(|l| header_of(l));
    let key = (!line.starts_with('[')).then(|| line.split('=').next().unwrap_or("").trim().to_string());
    let key = key.filter(|k| !k.is_empty() && !k.starts_with('#'));
    let (item, prefix) = match table.as_deref() {
        Some(t) if t == "rule" || t.starts_with("rule.") => {
            (find_item(&lines, line_idx, "rule", "id").map(|id| format!("rule \"{id}\"")), t.strip_prefix("rule"))
        }
        Some(t) if t == "parameter" || t.starts_with("parameter.") => (
            find_item(&lines, line_idx, "parameter", "name").map(|n| format!("parameter \"{n}\"")),
            t.strip_prefix("parameter"),
        ),
        Some(t) => (Some(t.to_string()), Some("")),
        None => (None, Some("")),
    };
    let prefix = prefix.unwrap_or("").trim_start_matches('.');
    let field = match (prefix.is_empty(), key) {
        (true, k) => k,
        (false, Some(k)) => Some(format!("{prefix}.{k}")),
        (false, None) => Some(prefix.to_string()),
    };
    (Some(line_idx + 1), item, field)
}

/// The `name_key = "…"` value of the `[[array]]` block around line `at`.
fn find_item(lines: &[&str], at: usize, array: &str, name_key: &str) -> Option<String> {
    let header = format!("[[{array}]]");
    let start = lines[..=at.min(lines.len().saturating_sub(1))].iter().rposition(|l| l.trim() == header)?;
    lines[start + 1..].iter().take_while(|l| l.trim() != header).find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == name_key).then(|| v.trim().trim_matches('"').to_string())
    })
}

// === validation ===

struct Ctx<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Ctx<'_> {
    fn push(&mut self, file: &str, item: Option<String>, field: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_string(),
            item,
            field: field.map(str::to_string),
            line: None,
            message: message.into(),
        });
    }
    fn rule(&mut self, r: &Rule, field: Option<&str>, message: impl Into<String>) {
        self.push(&r.file, Some(format!("rule \"{}\"", r.id)), field, message);
    }
}

fn is_id(s: &str) -> bool {
    let segs: Vec<&str> = s.split('.').collect();
    segs.len() >= 2
        && segs
            .iter()
            .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
}

fn build(files: Vec<(String, CatalogueFile)>, problems: &mut Vec<Problem>) -> Catalogue {
    let syntax_ok = problems.is_empty();
    let mut ctx = Ctx { problems };
    let mut rules = Vec::new();
    let mut documents: BTreeMap<String, Document> = BTreeMap::new();
    let mut doc_files: BTreeMap<String, String> = BTreeMap::new();
    let mut parameters: BTreeMap<String, Parameter> = BTreeMap::new();
    let mut retirement = Vec::new();
    let mut jurisdictions: Vec<JurisdictionInfo> = Vec::new();

    for (name, file) in files {
        for d in file.document {
            let item = Some(format!("document \"{}\"", d.code));
            if d.code.trim().is_empty() || d.code.contains(char::is_whitespace) {
                ctx.push(&name, item.clone(), Some("code"), "must be a code without spaces, e.g. \"000\"");
            }
            if let Some(other) = doc_files.get(&d.code) {
                ctx.push(&name, item, Some("code"), format!("duplicate document code: already declared in {other}"));
                continue;
            }
            doc_files.insert(d.code.clone(), name.clone());
            documents.insert(d.code.clone(), d);
        }

        let jurisdiction = match &file.jurisdiction {
            Some(h) => {
                let j = h.district.clone().map_or(Jurisdiction::City, Jurisdiction::District);
                if !is_id(&format!("{}.x", h.key)) || h.key.contains('.') {
                    ctx.push(&name, Some("jurisdiction".into()), Some("key"), "must be lowercase letters, digits, -");
                }
                match jurisdictions.iter().find(|i| i.key == h.key || i.jurisdiction == j) {
                    Some(other) if other.key != h.key || other.jurisdiction != j => ctx.push(
                        &name,
                        Some("jurisdiction".into()),
                        Some("key"),
                        format!(
                            "key \"{}\" / {} contradicts an earlier file ({} / {})",
                            h.key, j, other.key, other.jurisdiction
                        ),
                    ),
                    Some(_) => {}
                    None => jurisdictions.push(JurisdictionInfo {
                        key: h.key.clone(),
                        jurisdiction: j.clone(),
                        name: h.name.clone(),
                    }),
                }
                Some((h.key.clone(), j))
            }
            None => None,
        };
        for mut r in file.rule {
            r.file = name.clone();
            match &jurisdiction {
                Some((key, j)) => {
                    r.jurisdiction = j.clone();
                    if !r.id.starts_with(&format!("{key}.")) {
                        ctx.rule(&r, Some("id"), format!("must start with the jurisdiction key \"{key}.\""));
                    }
                }
                None => ctx.rule(&r, None, "a file with rules needs a [jurisdiction] table"),
            }
            check_rule(&mut ctx, &r);
            rules.push(r);
        }
        for mut p in file.parameter {
            p.file = name.clone();
            check_parameter(&mut ctx, &mut p);
            if let Some(other) = parameters.get(&p.name) {
                let msg = format!("duplicate parameter: already defined in {}", other.file);
                ctx.push(&name, Some(format!("parameter \"{}\"", p.name)), Some("name"), msg);
                continue;
            }
            parameters.insert(p.name.clone(), p);
        }
        for (i, mut l) in file.retirement_age.into_iter().enumerate() {
            l.file = name.clone();
            check_retirement_law(&mut ctx, &l, i);
            retirement.push(l);
        }
    }

    // Cross-file checks would only echo a file that failed to parse.
    let mut former_programmes = BTreeMap::new();
    if syntax_ok {
        check_across_rules(&mut ctx, &rules, &documents, &parameters);
        check_retirement_laws(&mut ctx, &mut retirement);
        former_programmes = check_former_programmes(&mut ctx, &rules);
    }
    Catalogue { rules, documents, parameters, retirement, jurisdictions, former_programmes, fingerprint: String::new() }
}

fn check_rule(ctx: &mut Ctx<'_>, r: &Rule) {
    if !is_id(&r.id) {
        ctx.rule(r, Some("id"), "must be dot-separated segments of lowercase letters, digits and -");
    }
    if let Err(e) = leye_domain::values::slug(&r.programme) {
        ctx.rule(r, Some("programme"), e.0);
    }
    if r.title.trim().is_empty() {
        ctx.rule(r, Some("title"), "is required");
    }
    if r.source.trim().is_empty() {
        ctx.rule(r, Some("source"), "is required (e.g. \"000 § 9\")");
    }
    if let Some(to) = r.valid_to
        && to < r.valid_from
    {
        ctx.rule(r, Some("valid_to"), format!("inverted period: {to} is before valid_from {}", r.valid_from));
    }
    if r.verify && r.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        ctx.rule(r, Some("note"), "a rule marked verify = true must say in a note what to confirm");
    }
    for k in r.wording.keys() {
        if !WORDING_KEYS.contains(&k.as_str()) {
            ctx.rule(r, Some(&format!("wording.{k}")), "is not a condition, limit or amount key");
        }
    }
    let positive = |ctx: &mut Ctx<'_>, field: &str, v: i64| {
        if v <= 0 {
            ctx.rule(r, Some(field), "must be > 0");
        }
    };
    match &r.amount {
        AmountRule::Fixed { fen } | AmountRule::UpTo { fen } | AmountRule::PerUnit { fen } => {
            positive(ctx, "amount.fen", *fen)
        }
        AmountRule::PerMonth { fen, per_employee_fen, max_per_month_fen } => {
            positive(ctx, "amount.fen", *fen);
            if let Some(p) = per_employee_fen {
                positive(ctx, "amount.per_employee_fen", *p);
            }
            if let Some(m) = max_per_month_fen
                && m < fen
            {
                ctx.rule(r, Some("amount.max_per_month_fen"), "must be ≥ amount.fen");
            }
        }
        AmountRule::InterestSubsidy { max_principal_fen, max_months, .. } => {
            positive(ctx, "amount.max_principal_fen", *max_principal_fen);
            if *max_months == 0 {
                ctx.rule(r, Some("amount.max_months"), "must be > 0");
            }
        }
        AmountRule::PerMonthShareOfParameter { .. } | AmountRule::ShareOfBase { .. } | AmountRule::None => {}
    }
    match (r.nature, &r.amount) {
        (Nature::Entitlement, AmountRule::None) => {}
        (Nature::Entitlement, _) => ctx.rule(r, Some("amount.kind"), "an entitlement has kind = \"none\""),
        (_, AmountRule::None) => ctx.rule(r, Some("amount.kind"), "\"none\" is only for nature = \"entitlement\""),
        _ => {}
    }
    let l = &r.limits;
    for (field, v) in [
        ("limits.max_grants", l.max_grants),
        ("limits.max_months", l.max_months),
        ("limits.cumulative_months", l.cumulative_months),
        ("limits.extend_to_retirement_within_years", l.extend_to_retirement_within_years),
        ("limits.max_public_welfare_placements", l.max_public_welfare_placements),
    ] {
        if v == Some(0) {
            ctx.rule(r, Some(field), "must be > 0");
        }
    }
    if l.one_time && l.max_grants.is_some_and(|n| n > 1) {
        ctx.rule(r, Some("limits.max_grants"), "contradicts one_time = true");
    }
    if let (Some(m), Some(c)) = (l.max_months, l.cumulative_months)
        && c < m
    {
        ctx.rule(r, Some("limits.cumulative_months"), "must be ≥ limits.max_months");
    }
    if l.extend_to_retirement_within_years.is_some() && l.max_months.is_none() && l.cumulative_months.is_none() {
        ctx.rule(
            r,
            Some("limits.extend_to_retirement_within_years"),
            "needs max_months or cumulative_months to extend",
        );
    }
    if (l.cumulative_per_placement || l.renewal.is_some()) && l.cumulative_months.is_none() {
        ctx.rule(r, Some("limits.cumulative_months"), "is needed by cumulative_per_placement and renewal");
    }
    if !l.cumulative_with.is_empty() && l.cumulative_months.is_none() {
        ctx.rule(r, Some("limits.cumulative_with"), "needs limits.cumulative_months, the ceiling the months share");
    }
    if l.cumulative_with.contains(&r.programme) {
        ctx.rule(r, Some("limits.cumulative_with"), "names the rule's own programme, which always counts");
    }
    match r.in_force_by {
        InForceBy::TrainingCompletion if r.eligible.training_completed.is_empty() => ctx.rule(
            r,
            Some("in_force_by"),
            "training_completion needs eligible.training_completed to name the training",
        ),
        InForceBy::LoanContract if !matches!(r.amount, AmountRule::InterestSubsidy { .. }) => {
            ctx.rule(r, Some("in_force_by"), "loan_contract is for interest subsidies, whose request names the loan")
        }
        InForceBy::Registration if !r.eligible.registered_unemployed => ctx.rule(
            r,
            Some("in_force_by"),
            "registration needs eligible.registered_unemployed: the registration is the rewarded fact",
        ),
        _ => {}
    }
    if mentions_expiry(&r.eligible) && l.cumulative_months.is_none() {
        ctx.rule(
            r,
            Some("eligible.prior_placement_subsidy_expired"),
            "needs limits.cumulative_months: the full term the earlier subsidy must have run",
        );
    }
    if l.period_from_placement_month && !r.is_periodic() {
        ctx.rule(r, Some("limits.period_from_placement_month"), "applies only to periodic subsidies");
    }
    check_conditions(ctx, r, &r.eligible, "eligible");
}

fn mentions_expiry(c: &Conditions) -> bool {
    c.prior_placement_subsidy_expired || c.any_of.iter().any(mentions_expiry)
}

fn check_conditions(ctx: &mut Ctx<'_>, r: &Rule, c: &Conditions, path: &str) {
    if let Some(a) = c.min_age
        && (a.female > 100 || a.male > 100)
    {
        ctx.rule(r, Some(&format!("{path}.min_age")), "must be an age in years ≤ 100");
    }
    for (i, alt) in c.any_of.iter().enumerate() {
        let p = format!("{path}.any_of[{i}]");
        if alt == &Conditions::default() {
            ctx.rule(r, Some(&p), "an alternative must state at least one condition");
        }
        check_conditions(ctx, r, alt, &p);
    }
}

fn check_parameter(ctx: &mut Ctx<'_>, p: &mut Parameter) {
    let item = Some(format!("parameter \"{}\"", p.name));
    let file = p.file.clone();
    if p.name.is_empty() || !p.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        ctx.push(&file, item.clone(), Some("name"), "must be snake_case");
    }
    if p.values.is_empty() {
        ctx.push(&file, item.clone(), Some("values"), "needs at least one dated value");
    }
    for i in 0..p.values.len() {
        let field = |f: &str| format!("values[{i}].{f}");
        let next_from = p.values.get(i + 1).map(|n| n.valid_from);
        let v = &mut p.values[i];
        if v.value <= 0 {
            ctx.push(&file, item.clone(), Some(&field("value")), "must be > 0");
        }
        if v.source.trim().is_empty() {
            ctx.push(&file, item.clone(), Some(&field("source")), "is required");
        }
        if v.verify && v.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            ctx.push(
                &file,
                item.clone(),
                Some(&field("note")),
                "a value marked verify = true must say what to confirm",
            );
        }
        if let Some(to) = v.valid_to
            && to < v.valid_from
        {
            let msg = format!("inverted period: {to} is before valid_from {}", v.valid_from);
            ctx.push(&file, item.clone(), Some(&field("valid_to")), msg);
        }
        if let Some(next) = next_from {
            if next <= v.valid_from {
                ctx.push(
                    &file,
                    item.clone(),
                    Some(&field("valid_from")),
                    "values must be in ascending valid_from order",
                );
            } else if v.valid_to.is_some_and(|to| to >= next) {
                let msg = format!("overlaps the next value, valid from {next}");
                ctx.push(&file, item.clone(), Some(&field("valid_to")), msg);
            } else if v.valid_to.is_none() {
                // open until the next value starts
                v.valid_to = next.pred_opt();
            }
        }
    }
}

fn check_retirement_law(ctx: &mut Ctx<'_>, l: &RetirementLaw, i: usize) {
    let item = Some(format!("retirement_age[{i}]"));
    if l.valid_to.is_some_and(|to| to < l.valid_from) {
        ctx.push(&l.file, item.clone(), Some("valid_to"), "inverted period");
    }
    if l.verify && l.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        ctx.push(&l.file, item.clone(), Some("note"), "verify = true needs a note");
    }
    for (name, s) in [("male", &l.male), ("female_cadre", &l.female_cadre), ("female_worker", &l.female_worker)] {
        let gradual = [s.from_birth_month.is_some(), s.birth_months_per_step.is_some(), s.months_per_step.is_some()];
        let complete = gradual.iter().all(|g| *g) && s.max_years.is_some();
        let none = gradual.iter().all(|g| !g) && s.max_years.is_none();
        if !complete && !none {
            ctx.push(
                &l.file,
                item.clone(),
                Some(name),
                "a rising age needs from_birth_month, birth_months_per_step, months_per_step and max_years together",
            );
        }
        check_schedule(ctx, l, &item, name, s);
    }
}

fn check_schedule(ctx: &mut Ctx<'_>, l: &RetirementLaw, item: &Option<String>, name: &str, s: &RetirementSchedule) {
    if !(16..=80).contains(&s.base_years) {
        ctx.push(&l.file, item.clone(), Some(&format!("{name}.base_years")), "must be 16..=80");
    }
    if s.birth_months_per_step == Some(0) || s.months_per_step == Some(0) {
        ctx.push(&l.file, item.clone(), Some(name), "steps must be > 0");
    }
    if s.max_years.is_some_and(|m| m < s.base_years) {
        ctx.push(&l.file, item.clone(), Some(&format!("{name}.max_years")), "must be ≥ base_years");
    }
}

fn check_retirement_laws(ctx: &mut Ctx<'_>, laws: &mut [RetirementLaw]) {
    laws.sort_by_key(|l| l.valid_from);
    let file = laws.first().map(|l| l.file.clone()).unwrap_or_else(|| "policies".into());
    if laws.iter().filter(|l| l.valid_to.is_none()).count() != 1 {
        ctx.push(&file, Some("retirement_age".into()), None, "exactly one retirement-age law must be open-ended");
    }
    for w in laws.windows(2) {
        if w[0].valid_to.is_none_or(|to| to >= w[1].valid_from) {
            ctx.push(&w[1].file, Some("retirement_age".into()), Some("valid_from"), "overlaps an earlier law's period");
        }
    }
}

fn check_across_rules(
    ctx: &mut Ctx<'_>,
    rules: &[Rule],
    documents: &BTreeMap<String, Document>,
    parameters: &BTreeMap<String, Parameter>,
) {
    let programmes: BTreeSet<&str> = rules.iter().map(|r| r.programme.as_str()).collect();
    for (i, r) in rules.iter().enumerate() {
        for part in r.source.split(';') {
            let code = part.split_whitespace().next().unwrap_or("");
            if !code.is_empty() && !documents.contains_key(code) {
                ctx.rule(r, Some("source"), format!("cites document \"{code}\", which no [[document]] declares"));
            }
        }
        for earlier in &rules[..i] {
            if earlier.id != r.id {
                continue;
            }
            if earlier.valid_from == r.valid_from {
                ctx.rule(r, Some("id"), format!("duplicate id: already defined in {}", earlier.file));
            } else if overlaps(earlier.valid_from, earlier.valid_to, r.valid_from, r.valid_to) {
                let msg = format!(
                    "effective period overlaps the version valid from {} in {}",
                    earlier.valid_from, earlier.file
                );
                ctx.rule(r, Some("valid_from"), msg);
            }
            let same = earlier.programme == r.programme
                && earlier.jurisdiction == r.jurisdiction
                && earlier.subject == r.subject
                && earlier.payee == r.payee
                && earlier.in_force_by == r.in_force_by;
            if !same {
                let msg = "versions of one rule must share programme, jurisdiction, subject, payee and in_force_by";
                ctx.rule(r, Some("id"), msg);
            }
        }
        for target in &r.replaces {
            let city = rules.iter().any(|x| &x.id == target && x.jurisdiction == Jurisdiction::City);
            if r.jurisdiction == Jurisdiction::City {
                ctx.rule(r, Some("replaces"), "only a district rule may stand in for a city rule");
            } else if !city {
                ctx.rule(r, Some("replaces"), format!("\"{target}\" is not a city rule"));
            }
        }
        let mut refs: Vec<(String, &str)> =
            r.limits.excludes.iter().map(|p| ("limits.excludes".into(), p.as_str())).collect();
        refs.extend(r.limits.cumulative_with.iter().map(|p| ("limits.cumulative_with".into(), p.as_str())));
        collect_requires(&r.eligible, "eligible", &mut refs);
        for (field, p) in refs {
            if !programmes.contains(p) {
                ctx.rule(r, Some(&field), format!("unknown programme \"{p}\""));
            }
        }
        let mut params: Vec<(String, &str, ParameterUnit)> = Vec::new();
        match &r.amount {
            AmountRule::PerMonthShareOfParameter { parameter, .. } => {
                params.push(("amount.parameter".into(), parameter, ParameterUnit::Fen))
            }
            AmountRule::InterestSubsidy { parameter, .. } => {
                params.push(("amount.parameter".into(), parameter, ParameterUnit::BasisPoints))
            }
            _ => {}
        }
        collect_layoff_params(&r.eligible, "eligible", &mut params);
        for (field, name, unit) in params {
            let Some(p) = parameters.get(name) else {
                ctx.rule(r, Some(&field), format!("unknown parameter \"{name}\""));
                continue;
            };
            if p.unit != unit {
                ctx.rule(r, Some(&field), format!("parameter \"{name}\" is in {:?}, this needs {unit:?}", p.unit));
                continue;
            }
            if let Some(gap) = first_uncovered_day(p, r) {
                let msg = format!("parameter \"{name}\" has no value on {gap}, while the rule is in force");
                ctx.rule(r, Some(&field), msg);
            }
        }
    }
}

/// Former programme codes: none may still be a rule's programme, and none may
/// stand for two programmes.
fn check_former_programmes(ctx: &mut Ctx<'_>, rules: &[Rule]) -> BTreeMap<String, String> {
    let live: BTreeSet<&str> = rules.iter().map(|r| r.programme.as_str()).collect();
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for r in rules {
        for old in &r.formerly {
            if live.contains(old.as_str()) {
                ctx.rule(r, Some("formerly"), format!("\"{old}\" is still the programme of a rule"));
            } else if let Some(other) = map.get(old).filter(|p| **p != r.programme) {
                ctx.rule(r, Some("formerly"), format!("\"{old}\" already stands for programme \"{other}\""));
            } else {
                map.insert(old.clone(), r.programme.clone());
            }
        }
    }
    map
}

fn collect_requires<'a>(c: &'a Conditions, path: &str, out: &mut Vec<(String, &'a str)>) {
    out.extend(c.requires_grant.iter().map(|p| (format!("{path}.requires_grant"), p.as_str())));
    for (i, alt) in c.any_of.iter().enumerate() {
        collect_requires(alt, &format!("{path}.any_of[{i}]"), out);
    }
}

fn collect_layoff_params<'a>(c: &'a Conditions, path: &str, out: &mut Vec<(String, &'a str, ParameterUnit)>) {
    if let Some(l) = &c.layoffs {
        out.push((format!("{path}.layoffs.below_parameter"), &l.below_parameter, ParameterUnit::BasisPoints));
    }
    for (i, alt) in c.any_of.iter().enumerate() {
        collect_layoff_params(alt, &format!("{path}.any_of[{i}]"), out);
    }
}

fn overlaps(a_from: Date, a_to: Option<Date>, b_from: Date, b_to: Option<Date>) -> bool {
    a_to.is_none_or(|t| t >= b_from) && b_to.is_none_or(|t| t >= a_from)
}

/// The first day of a rule's validity on which the parameter has no value
/// (checked on month starts, the grain of monthly amounts, and on the bounds).
fn first_uncovered_day(p: &Parameter, r: &Rule) -> Option<Date> {
    let covered = |d: Date| p.values.iter().any(|v| v.in_force_on(d));
    if !covered(r.valid_from) {
        return Some(r.valid_from);
    }
    let open_ended = p.values.iter().any(|v| v.valid_to.is_none());
    let end = match r.valid_to {
        Some(to) => to,
        None if !open_ended => {
            // the rule runs on after the parameter's last value ends
            return p.values.iter().filter_map(|v| v.valid_to).max().and_then(|t| t.succ_opt());
        }
        None => p.values.iter().map(|v| v.valid_from).max().unwrap_or(r.valid_from).max(r.valid_from),
    };
    month_starts(r.valid_from, end).filter(|d| *d >= r.valid_from).chain([end]).find(|d| !covered(*d))
}

//! The benchmark's persons: resident IDs that never repeat within a run, and
//! the four commands of each person's case as gRPC requests.

use super::*;

/// Hands out resident IDs that never repeat within a run.
#[derive(Debug)]
pub(super) struct IdSource {
    pub(super) next: AtomicU64,
}

/// Birth dates from 1970-01-01 on, for 31 years.
pub(super) const BIRTH_DAYS: u64 = 31 * 365;
/// Distinct IDs: address code × birth date × sequence number 000..999.
pub(super) const ID_SPACE: u64 = ADDRESS_CODES.len() as u64 * BIRTH_DAYS * 1000;

impl IdSource {
    /// Starts at a random place, so runs against the same server rarely collide.
    pub(super) fn new(seed: u64) -> Self {
        Self { next: AtomicU64::new(seed % ID_SPACE) }
    }

    pub(super) fn peek(&self) -> Person {
        Person::numbered(self.next.load(Ordering::Relaxed))
    }

    pub(super) fn next_person(&self) -> Person {
        Person::numbered(self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// One person the bench registers.
#[derive(Debug, Clone)]
pub(super) struct Person {
    pub(super) resident_id: String,
    pub(super) name: &'static str,
    pub(super) vacancy_id: String,
}

impl Person {
    pub(super) fn numbered(n: u64) -> Self {
        let n = n % ID_SPACE;
        let sequence = n % 1000;
        let day = (n / 1000) % BIRTH_DAYS;
        let address = ADDRESS_CODES[(n / 1000 / BIRTH_DAYS) as usize % ADDRESS_CODES.len()];
        let epoch = Date::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let birth = epoch + chrono::Duration::days(day as i64);
        let first17 = format!("{address}{}{sequence:03}", birth.format("%Y%m%d"));
        Self {
            resident_id: format!("{first17}{}", resident_id_check(&first17)),
            name: NAMES[(n % NAMES.len() as u64) as usize],
            vacancy_id: format!("V-2025-{:08}", n % 100_000_000),
        }
    }
}

/// The check character of a resident ID (ISO 7064 MOD 11-2) over its first 17 digits.
pub(super) fn resident_id_check(first17: &str) -> char {
    // Callers build 17 digits; anything else is a bench bug that the server's parse would report.
    leye_domain::values::ResidentId::check_character(first17).unwrap_or('?')
}

/// The employer's unified social credit code (GB 32100-2015), check character computed.
pub(super) fn employer_code() -> anyhow::Result<String> {
    let check =
        CreditCode::check_character(EMPLOYER_CODE_BASE).context("employer code base outside the code's alphabet")?;
    let code = format!("{EMPLOYER_CODE_BASE}{check}");
    CreditCode::parse(&code).map_err(|e| anyhow!("generated employer code is invalid: {e}"))?;
    Ok(code)
}

pub(super) fn context() -> Option<CommandContext> {
    Some(CommandContext { command_id: Uuid::new_v4().to_string(), office: OFFICE.into(), ..Default::default() })
}

impl Person {
    pub(super) fn register(&self, date: &str) -> pb::RegisterUnemploymentRequest {
        pb::RegisterUnemploymentRequest {
            context: context(),
            effective_date: date.into(),
            registration: Some(pb::Registration {
                resident_id: self.resident_id.clone(),
                name: self.name.into(),
                hukou: Some(pb::Hukou { district_code: HUKOU_DISTRICT.into(), nature: pb::HukouNature::Urban as i32 }),
                residence: Some(pb::Residence {
                    district_code: RESIDENCE_DISTRICT.into(),
                    street_code: RESIDENCE_STREET.into(),
                    community_code: RESIDENCE_COMMUNITY.into(),
                }),
                education: pb::Education::SeniorSecondary as i32,
                graduation: None,
                household: None,
                groups: vec![],
                personal_data: 0,
            }),
        }
    }

    pub(super) fn contact(case_id: &str, date: &str) -> pb::RecordContactRequest {
        pb::RecordContactRequest {
            context: context(),
            case_id: case_id.into(),
            effective_date: date.into(),
            contact: Some(pb::Contact {
                channel: pb::ContactChannel::Phone as i32,
                outcome: pb::ContactOutcome::StillSeeking as i32,
                note: CONTACT_NOTE.into(),
            }),
        }
    }

    pub(super) fn recommend(&self, case_id: &str, date: &str, employer: &str) -> pb::RecommendJobRequest {
        pb::RecommendJobRequest {
            context: context(),
            case_id: case_id.into(),
            effective_date: date.into(),
            recommendation: Some(pb::JobRecommendation {
                vacancy_id: self.vacancy_id.clone(),
                enterprise_credit_code: employer.into(),
                two_way: true,
            }),
        }
    }

    pub(super) fn place(case_id: &str, date: &str, employer: &str) -> pb::RecordPlacementRequest {
        pb::RecordPlacementRequest {
            context: context(),
            case_id: case_id.into(),
            effective_date: date.into(),
            placement: Some(pb::Placement {
                kind: pb::PlacementKind::Enterprise as i32,
                employer_credit_code: employer.into(),
                contract_months: Some(12),
            }),
        }
    }

    /// The same four commands as domain commands.
    pub(super) fn domain_commands(&self, today: Date, employer: &str) -> anyhow::Result<Vec<PersonCommand>> {
        let employer = CreditCode::parse(employer)?;
        let registration = domain::Registration {
            resident_id: ResidentId::parse(&self.resident_id, today)?.into(),
            name: Some(PersonName::parse(self.name)?),
            hukou: Hukou { county: CountyCode::parse(HUKOU_DISTRICT)?, nature: HukouNature::Urban },
            residence: Residence::parse(RESIDENCE_DISTRICT, RESIDENCE_STREET, RESIDENCE_COMMUNITY)
                .map_err(|(_, e)| e)?,
            education: Education::SeniorSecondary,
            graduation: None,
            household: None,
            groups: BTreeSet::new(),
        };
        Ok(vec![
            PersonCommand::RegisterUnemployment(registration),
            PersonCommand::RecordContact(domain::Contact {
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::StillSeeking,
                note: CONTACT_NOTE.into(),
            }),
            PersonCommand::RecommendJob(domain::JobRecommendation {
                vacancy_id: self.vacancy_id.clone(),
                enterprise: Some(employer.clone()),
                two_way: true,
            }),
            PersonCommand::RecordPlacement(domain::Placement {
                kind: PlacementKind::Enterprise,
                employer: Some(employer),
                contract_months: Some(12),
            }),
        ])
    }
}

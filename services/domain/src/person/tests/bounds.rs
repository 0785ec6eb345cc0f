//! The bounds of a person's case life: nothing after an exit for death, at
//! most two public-welfare placements, the statutory retirement age, and
//! hand-computed cross-checks of the registration and age rules.

use super::*;

// === exit for death (000 § 20 动态退出, reason deceased) ===

fn died(on: &str) -> (&str, PersonFact) {
    (on, PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Deceased }))
}

/// From the date of an exit for death nothing that needs a living person is
/// recorded (`DECEASED`); what winds the case down still is.
#[test]
fn after_an_exit_for_death_only_facts_that_wind_the_case_down_are_recorded() {
    let mut paid_to_employer = proposal("s3", "staff-1");
    paid_to_employer.grant.payee = Payee::Enterprise(credit_code());
    let g = given(&[
        registered("2026-01-05"),
        (
            "2026-01-06",
            PersonFact::HouseholdJoined(HouseholdMembership {
                household_id: uuid::Uuid::from_u128(7),
                relation: HouseholdRelation::Head,
            }),
        ),
        ("2026-01-10", PersonFact::TrainingEnrolled(training("t1"))),
        ("2026-01-20", PersonFact::BenefitStarted(BenefitStart { months: 6, extended_to_retirement: false })),
        ("2026-02-01", PersonFact::SubsidyGranted(grant("s1"))),
        ("2026-02-10", PersonFact::SubsidyProposed(proposal("s2", "staff-1"))),
        ("2026-02-10", PersonFact::SubsidyProposed(paid_to_employer.clone())),
        died("2026-03-01"),
    ]);
    let approve = |id: &str| {
        PersonCommand::ApproveSubsidy(ApproveProposal { proposal_id: id.into(), reviewer: reviewer("chief-1", true) })
    };
    let contact = || {
        PersonCommand::RecordContact(Contact {
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::NotReached,
            note: String::new(),
        })
    };
    let refused = [
        PersonCommand::RegisterUnemployment(registration(man())),
        PersonCommand::RecordPlacement(placement()),
        contact(),
        PersonCommand::EnrolTraining(training("t2")),
        PersonCommand::CompleteTraining(TrainingCompletion { training_id: "t1".into(), certificate: None }),
        PersonCommand::NoteEligibility(finding("xiqing.hiring.one-time")),
        PersonCommand::ProposeSubsidy(proposal("s4", "staff-1")),
        approve("s2"),
        PersonCommand::JoinHousehold(HouseholdMembership {
            household_id: uuid::Uuid::from_u128(8),
            relation: HouseholdRelation::Head,
        }),
    ];
    for command in refused {
        let name = command.name();
        // On the day of the exit and after it.
        for on in ["2026-03-01", "2026-05-01"] {
            let r = g.when(on, command.clone());
            let text = r.as_ref().map_err(|e| e.to_string()).unwrap_err();
            assert!(text.contains("death") && text.contains(name), "{text}");
            then_rejected(r, RejectionCode::Deceased);
        }
    }
    // What stays possible.
    let allowed = [
        PersonCommand::ErasePersonalData(PersonalDataErasure { ground: ErasureGround::PurposeAchieved }),
        PersonCommand::RevokeSubsidy(SubsidyRevocation { subsidy_id: "s1".into(), reason: "paid after death".into() }),
        PersonCommand::RejectSubsidyProposal(RejectProposal {
            proposal_id: "s2".into(),
            reviewer: reviewer("chief-1", true),
            reason: "the person died".into(),
        }),
        PersonCommand::EndBenefit(BenefitEnd { reason: BenefitEndReason::Other }),
        PersonCommand::DropTraining(TrainingDrop { training_id: "t1".into(), reason: "died".into() }),
        PersonCommand::LeaveHousehold(HouseholdLeave { household_id: uuid::Uuid::from_u128(7) }),
        // Paid to the employer for what happened before the death.
        approve("s3"),
    ];
    for command in allowed {
        let name = command.name();
        assert!(g.when("2026-05-01", command).is_ok(), "{name}");
    }
    let mut another = paid_to_employer;
    another.grant.subsidy_id = "s5".into();
    assert!(g.when("2026-05-01", PersonCommand::ProposeSubsidy(another)).is_ok());
    // A fact dated before the death, recorded late, is still recorded.
    assert!(g.when("2026-02-15", contact()).is_ok());
    // Any other exit reason: the person may register again.
    let moved = given(&[
        registered("2026-01-05"),
        ("2026-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::MovedAway })),
    ]);
    assert!(moved.when("2026-05-01", PersonCommand::RegisterUnemployment(registration(man()))).is_ok());
}

// === public-welfare posts: 累计安置不超过2次 (002 #38) ===

/// 002 #38 "可再次通过公益性岗位予以安置，累计安置不超过2次" (domain.md §4.3 "at most twice
/// in total"). 不超过 includes 2: the second placement is allowed, a third refused.
#[test]
fn a_third_public_welfare_post_placement_is_refused() {
    let welfare =
        Placement { kind: PlacementKind::PublicWelfarePost, employer: Some(credit_code()), contract_months: Some(36) };
    let ended = || PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::PostEnded });
    let once = [
        registered("2019-01-05"),
        ("2019-02-01", PersonFact::Placed(welfare.clone())),
        ("2022-01-31", ended()),
        registered("2022-02-01"),
    ];
    assert!(given(&once).when("2022-03-01", PersonCommand::RecordPlacement(welfare.clone())).is_ok());
    let mut twice = once.to_vec();
    twice.extend([
        ("2022-03-01", PersonFact::Placed(welfare.clone())),
        ("2025-02-28", ended()),
        registered("2025-03-01"),
    ]);
    let g = given(&twice);
    let r = g.when("2025-04-01", PersonCommand::RecordPlacement(welfare));
    assert_eq!(r.as_ref().unwrap_err().field, Some("placement.kind"));
    assert!(r.as_ref().unwrap_err().message.contains("002 #38"));
    then_rejected(r, RejectionCode::WelfarePostLimit);
    // Other kinds of placement stay open to the person.
    assert!(g.when("2025-04-01", PersonCommand::RecordPlacement(placement())).is_ok());
}

// === statutory retirement age (domain.md §4.7), with dates the caller computes ===

/// An exit for "reached retirement age" before the statutory retirement date
/// is false (`BEFORE_RETIREMENT_AGE`, field `exit.reason`); a registration on or
/// after it is past working age (`PAST_RETIREMENT_AGE`, field
/// `registration.resident_id`). The dates are hand-computed from the 2024
/// decision: a man born 1980-06-15 (after 1976-12) retires at 63, on
/// 2043-06-15; a man born 1962-01-01 reached 60 on 2022-01-01 (1978 law).
#[test]
fn retirement_age_rules_judge_exits_and_registrations_by_the_retirement_date() {
    let exit = |reason| PersonCommand::ExitRegistration(RegistrationExit { reason });
    let at_63 = RetirementDates::exactly(d("2043-06-15"));
    let r = check_retirement(&exit(ExitReason::ReachedRetirementAge), d(TODAY), at_63);
    assert_eq!(r.as_ref().unwrap_err().field, Some("exit.reason"));
    assert_eq!(r.unwrap_err().code, RejectionCode::BeforeRetirementAge);
    assert!(check_retirement(&exit(ExitReason::ReachedRetirementAge), d("2043-06-14"), at_63).is_err());
    assert!(check_retirement(&exit(ExitReason::ReachedRetirementAge), d("2043-06-15"), at_63).is_ok());
    assert!(check_retirement(&exit(ExitReason::NoLongerSeeking), d(TODAY), at_63).is_ok());

    let register = PersonCommand::RegisterUnemployment(registration(id("12011119620101003")));
    let at_60 = RetirementDates::exactly(d("2022-01-01"));
    let r = check_retirement(&register, d(TODAY), at_60);
    assert_eq!(r.as_ref().unwrap_err().field, Some("registration.resident_id"));
    assert_eq!(r.unwrap_err().code, RejectionCode::PastRetirementAge);
    assert!(check_retirement(&register, d("2022-01-01"), at_60).is_err());
    assert!(check_retirement(&register, d("2021-12-31"), at_60).is_ok());

    // A woman whose post type is unknown: worker (earliest) or cadre (latest).
    // Between the two she may have retired as a worker, or not yet as a cadre.
    let either = RetirementDates { earliest: d("2030-03-01"), latest: d("2035-03-01") };
    assert!(check_retirement(&exit(ExitReason::ReachedRetirementAge), d("2032-01-01"), either).is_ok());
    assert!(check_retirement(&register, d("2032-01-01"), either).is_ok());
    assert!(check_retirement(&exit(ExitReason::ReachedRetirementAge), d("2030-02-28"), either).is_err());
    assert!(check_retirement(&register, d("2035-03-01"), either).is_err());
    // The texts name no date: a retirement date tells the birth date.
    let text = check_retirement(&register, d(TODAY), at_60).unwrap_err().to_string();
    assert!(!text.contains("2022") && !text.contains("1962"), "{text}");
}

// === cross-checks from the review of the deciders (hand-computed cases) ===

fn registered_as(who: &ResidentId, on: &'static str) -> (&'static str, PersonFact) {
    (on, PersonFact::Registered(registration(who.clone())))
}

/// Labour Law art. 15: age ≥ 16 on the registration date; the 16th birthday counts.
#[test]
fn registration_is_allowed_from_the_16th_birthday() {
    let born_2010_11_23 = id("12011120101123003");
    then_rejected(
        given(&[]).when(TODAY, PersonCommand::RegisterUnemployment(registration(born_2010_11_23))),
        RejectionCode::UnderWorkingAge,
    );
    let sixteen_today = id("12011120101122003");
    assert!(given(&[]).when(TODAY, PersonCommand::RegisterUnemployment(registration(sixteen_today))).is_ok());
}

/// domain.md §2.1 "At most one open registration at a time"; not while placed;
/// a new spell from the day the placement ended, not the day before.
#[test]
fn one_open_registration_not_while_placed_and_not_before_the_placement_ended() {
    let register = || PersonCommand::RegisterUnemployment(registration(man()));
    then_rejected(given(&[registered("2026-01-05")]).when("2026-02-01", register()), RejectionCode::AlreadyRegistered);
    let placed = [registered("2026-01-05"), ("2026-03-01", PersonFact::Placed(placement()))];
    then_rejected(given(&placed).when("2026-04-01", register()), RejectionCode::CurrentlyPlaced);
    let mut ended = placed.to_vec();
    ended.push(("2026-06-30", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::Dismissed })));
    then_rejected(given(&ended).when("2026-06-29", register()), RejectionCode::BeforePreviousEnd);
    assert!(given(&ended).when("2026-06-30", register()).is_ok());
}

/// Every fact's date lies on or before today: today is allowed, tomorrow is
/// refused naming the field.
#[test]
fn an_effective_date_of_today_is_allowed_and_tomorrow_refused_naming_the_field() {
    let register = || PersonCommand::RegisterUnemployment(registration(man()));
    let r = given(&[]).when("2026-11-23", register());
    assert_eq!(r.as_ref().unwrap_err().field, Some("effective_date"));
    then_rejected(r, RejectionCode::EffectiveDateInFuture);
    assert!(given(&[]).when(TODAY, register()).is_ok());
}

/// domain.md §2.4 / 002 #33 / 004 § 11: "4050" = 女年满40周岁、男年满50周岁; older
/// worker 女年满35周岁、男年满45周岁. 满N includes N: the exact birthday
/// qualifies, the day before not; a man of 45 is not "4050".
#[test]
fn age_categories_hold_from_the_exact_birthday_naming_the_field() {
    let woman40 = id("12011119861122004"); // 40 on 2026-11-22
    let man50 = id("12011119761122003"); // 50 on 2026-11-22
    let woman35 = id("12011119911122004"); // 35 on 2026-11-22
    let man45 = id("12011119811122003"); // 45 on 2026-11-22
    for (who, category) in [
        (&woman40, DifficultyCategory::Age4050),
        (&man50, DifficultyCategory::Age4050),
        (&woman35, DifficultyCategory::OlderWorker),
        (&man45, DifficultyCategory::OlderWorker),
    ] {
        let g = given(&[registered_as(who, "2026-01-05")]);
        let from = |day: &str| PersonCommand::RecogniseDifficulty(difficulty(&[category], day));
        assert!(g.when(TODAY, from("2026-11-22")).is_ok(), "{category:?}");
        let r = g.when(TODAY, from("2026-11-21"));
        assert_eq!(r.as_ref().unwrap_err().field, Some("difficulty.categories"), "{category:?}");
        then_rejected(r, RejectionCode::CategoryAgeMismatch);
    }
    then_rejected(
        given(&[registered_as(&man45, "2026-01-05")])
            .when(TODAY, PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Age4050], TODAY))),
        RejectionCode::CategoryAgeMismatch,
    );
}

/// The decider does not judge "extended to retirement" (000 § 24, 002 #65):
/// it has no retirement tables. The service decides it with the policy
/// catalogue's rule when it starts a benefit (`subsidies.rs`, tested end to
/// end in tests/tests/subsidies.rs), so the decider alone accepts the flag.
#[test]
fn the_decider_leaves_the_extension_of_benefit_to_retirement_to_the_policy_catalogue() {
    let g = given(&[registered("2026-01-05")]);
    let extended = BenefitStart { months: 12, extended_to_retirement: true };
    assert!(g.when(TODAY, PersonCommand::StartBenefit(extended)).is_ok());
}

/// Texts never contain personal data: neither the resident ID (nor a part of
/// it) nor the name, whatever the refusal.
#[test]
fn rejection_texts_never_contain_the_resident_id_or_the_name() {
    let other = woman();
    let teen = id("12011120101123003");
    let open = given(&[registered("2026-01-05")]);
    let placed = given(&[registered("2026-01-05"), ("2026-03-01", PersonFact::Placed(placement()))]);
    let dead = given(&[registered("2026-01-05"), died("2026-03-01")]);
    let mut no_name = registration(man());
    no_name.name = None;
    let rejections = [
        given(&[]).when(TODAY, PersonCommand::RegisterUnemployment(registration(teen.clone()))),
        open.when(TODAY, PersonCommand::RegisterUnemployment(registration(man()))),
        open.when(TODAY, PersonCommand::RegisterUnemployment(registration(other.clone()))),
        placed.when(TODAY, PersonCommand::RegisterUnemployment(registration(man()))),
        open.when("2026-01-04", PersonCommand::RecordPlacement(placement())),
        open.when(TODAY, PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Age4050], TODAY))),
        open.when("2026-11-23", PersonCommand::RecordPlacement(placement())),
        dead.when(TODAY, PersonCommand::RegisterUnemployment(registration(man()))),
        given(&[]).when(TODAY, PersonCommand::RegisterUnemployment(no_name)),
    ];
    let name = "测试";
    for r in rejections {
        let rejection = r.unwrap_err();
        let text = format!("{rejection} {rejection:?}");
        for secret in [man().as_str(), other.as_str(), teen.as_str(), "120111198", "19800615", "19880302", name] {
            assert!(!text.contains(secret), "{text} contains {secret}");
        }
    }
}

/// A registration without the resident ID or the name names the field.
#[test]
fn a_registration_without_the_name_is_refused_naming_the_field() {
    let mut reg = registration(man());
    reg.name = None;
    let r = given(&[]).when(TODAY, PersonCommand::RegisterUnemployment(reg));
    assert_eq!(r.as_ref().unwrap_err().field, Some("registration.resident_id"));
    then_rejected(r, RejectionCode::PersonalDataMissing);
}

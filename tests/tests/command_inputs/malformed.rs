//! What held: malformed values refused naming the field and the rule.

use super::*;

/// Malformed values: impossible and out-of-range dates, amounts, enum
/// numbers, ids that are not UUIDs, codes of the wrong form, control and
/// bidirectional characters, over-long text. Each refused naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_malformed_values_are_refused_naming_field_and_rule() {
    let server = spawn().await;
    let mut c = server.client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let mut e = server.enterprise_client().await;
    let id = resident_id("19900101", 1);
    let case_id = register_person(&mut c, &id, days_ago(100)).await;
    let enterprise = register_enterprise(&mut e, &credit_code(ENTERPRISE_BODY), 400).await;
    let mut s = Sweep::new(&server, &[&id]);
    let bad = Code::InvalidArgument;

    for d in ["2024-02-30", "0000-01-01", "2024-13-01", "24-01-01", "2024/01/01", "today"] {
        let r = c.record_contact(contact(&case_id, d.into())).await;
        s.refused(&format!("contact dated {d:?}"), r, bad, "effective_date");
    }
    let r = c.record_contact(contact(&case_id, "9999-12-31".into())).await;
    s.refused("contact dated 9999-12-31", r, bad, "EFFECTIVE_DATE_IN_FUTURE");
    let difficulty = |from: &str, to: &str| pb::RecogniseDifficultyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        difficulty: Some(pb::Difficulty {
            categories: vec![pb::DifficultyCategory::Disabled as i32],
            valid_from: from.into(),
            valid_to: to.into(),
        }),
    };
    let r = c.recognise_difficulty(difficulty("2025-02-29", "2026-01-01")).await;
    s.refused("valid_from 2025-02-29", r, bad, "difficulty.valid_from");
    let r = c.recognise_difficulty(difficulty("2026-01-01", "2025-01-01")).await;
    s.refused("validity ending before it starts", r, bad, "difficulty.valid_to");
    let r = c
        .recognise_difficulty(pb::RecogniseDifficultyRequest {
            difficulty: Some(pb::Difficulty { categories: vec![], valid_from: days_ago(1), valid_to: days_ago(0) }),
            ..difficulty("", "")
        })
        .await;
    s.refused("no category", r, bad, "difficulty.categories");

    // Enums out of range, negative, and UNSPECIFIED.
    for (value, label) in [(99, "99"), (-1, "-1"), (0, "0")] {
        let mut r = contact(&case_id, days_ago(1));
        r.contact.as_mut().unwrap().outcome = value;
        let r = c.record_contact(r).await;
        s.refused(&format!("contact.outcome {label}"), r, bad, "contact.outcome");
        let mut r = place(&case_id, pb::PlacementKind::Flexible, 1);
        r.placement.as_mut().unwrap().kind = value;
        let r = c.record_placement(r).await;
        s.refused(&format!("placement.kind {label}"), r, bad, "placement.kind");
        let r = c
            .exit_registration(pb::ExitRegistrationRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(1),
                exit: Some(pb::RegistrationExit { reason: value }),
            })
            .await;
        s.refused(&format!("exit.reason {label}"), r, bad, "exit.reason");
        let r = e
            .develop_welfare_posts(epb::DevelopWelfarePostsRequest {
                context: ctx(),
                case_id: enterprise.clone(),
                effective_date: days_ago(1),
                posts: Some(epb::WelfarePostsDeveloped { development_id: "D".into(), kind: value, posts: 1 }),
            })
            .await;
        s.refused(&format!("posts.kind {label}"), r, bad, "posts.kind");
    }
    let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
    r.registration.as_mut().unwrap().groups = vec![pb::PersonGroup::Veteran as i32, 999];
    let r = c.register_unemployment(r).await;
    s.refused("groups [veteran, 999]", r, bad, "registration.groups[1]");

    // Ids that are not UUIDs.
    for not_uuid in ["case-1", "12345", "0000000-0000-0000-0000-000000000000", "\u{0}"] {
        let mut r = contact(&case_id, days_ago(1));
        r.case_id = not_uuid.into();
        let r = c.record_contact(r).await;
        s.refused(&format!("case_id {not_uuid:?}"), r, bad, "case_id");
    }
    let mut r = contact(&case_id, days_ago(1));
    r.context.as_mut().unwrap().command_id = "retry-1".into();
    let r = c.record_contact(r).await;
    s.refused("command_id retry-1", r, bad, "context.command_id");
    let mut r = contact(&case_id, days_ago(1));
    r.context.as_mut().unwrap().causation_id = "event-7".into();
    let r = c.record_contact(r).await;
    s.refused("causation_id event-7", r, bad, "context.causation_id");
    let r = c
        .join_household(pb::JoinHouseholdRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            membership: Some(pb::HouseholdMembership {
                household_id: "household-7".into(),
                relation: pb::HouseholdRelation::Head as i32,
            }),
        })
        .await;
    s.refused("household_id household-7", r, bad, "membership.household_id");
    let r = e
        .record_hire(epb::RecordHireRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(1),
            hire: Some(epb::Hire {
                hire_id: "H-1".into(),
                person_case_id: id.clone(),
                contract_months: 12,
                started_on: days_ago(1),
            }),
        })
        .await;
    s.refused("person_case_id = a resident ID", r, bad, "hire.person_case_id");

    // Codes of the wrong length or letters.
    let valid = credit_code(ENTERPRISE_BODY);
    for code in [&valid[..17], "9112011IMA05JX0K0X", "91120111MA05JX0KOX", "91120111MA05JX0K0１"] {
        let r = c
            .recommend_job(pb::RecommendJobRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(1),
                recommendation: Some(pb::JobRecommendation {
                    vacancy_id: "V-1".into(),
                    enterprise_credit_code: code.into(),
                    two_way: false,
                }),
            })
            .await;
        s.refused(&format!("credit code {code:?}"), r, bad, "recommendation.enterprise_credit_code");
    }
    type Edit = fn(&mut pb::Registration);
    let edits: [(&str, &str, Edit); 6] = [
        ("hukou 12011", "registration.hukou.district_code", |r| {
            r.hukou.as_mut().unwrap().district_code = "12011".into()
        }),
        ("hukou 99xxxx", "registration.hukou.district_code", |r| {
            r.hukou.as_mut().unwrap().district_code = "990101".into()
        }),
        ("residence in Beijing", "registration.residence.district_code", |r| {
            r.residence = Some(pb::Residence {
                district_code: "110101".into(),
                street_code: "110101001".into(),
                community_code: "110101001001".into(),
            })
        }),
        ("street of another district", "registration.residence.street_code", |r| {
            r.residence.as_mut().unwrap().street_code = "120101001".into()
        }),
        ("community of 11 digits", "registration.residence.community_code", |r| {
            r.residence.as_mut().unwrap().community_code = "12011100100".into()
        }),
        ("graduation 1949", "registration.graduation.year", |r| r.graduation.as_mut().unwrap().year = 1949),
    ];
    for (what, field, edit) in edits {
        let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
        edit(r.registration.as_mut().unwrap());
        let r = c.register_unemployment(r).await;
        s.refused(what, r, bad, field);
    }
    let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
    r.registration.as_mut().unwrap().resident_id = format!("{}Y", &resident_id("19900101", 3)[..17]);
    let r = c.register_unemployment(r).await;
    s.refused("resident ID ending in Y", r, bad, "registration.resident_id");

    // Amounts.
    for principal in [0, -1, i64::MIN] {
        let r = e
            .record_guarantee_loan(epb::RecordGuaranteeLoanRequest {
                context: ctx(),
                case_id: enterprise.clone(),
                effective_date: days_ago(1),
                loan: Some(epb::GuaranteeLoanGranted {
                    loan_id: "G-1".into(),
                    borrower: epb::LoanBorrower::Founder as i32,
                    principal_fen: principal,
                    lender: "银行".into(),
                    term_months: 12,
                }),
            })
            .await;
        s.refused(&format!("principal {principal}"), r, bad, "loan.principal_fen");
    }
    let proposal = |inputs: pb::ProposalInputs| pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        proposal_id: "P-1".into(),
        rule_id: STARTUP_CERTIFICATE.into(),
        payee: person_payee(),
        inputs: Some(inputs),
    };
    for (field, inputs) in [
        ("inputs.amount_fen", pb::ProposalInputs { amount_fen: -1, ..Default::default() }),
        ("inputs.base_fen", pb::ProposalInputs { base_fen: i64::MIN, ..Default::default() }),
        ("inputs.period_to", pb::ProposalInputs { period_from: "2026-01-01".into(), ..Default::default() }),
        (
            "inputs.period_to",
            pb::ProposalInputs {
                period_from: "2026-06-01".into(),
                period_to: "2026-01-31".into(),
                ..Default::default()
            },
        ),
        (
            "inputs.loan.principal_fen",
            pb::ProposalInputs {
                loan: Some(pb::LoanInput { principal_fen: -5, months: 12, contract_date: days_ago(1) }),
                ..Default::default()
            },
        ),
        ("inputs.post_type", pb::ProposalInputs { post_type: "boss".into(), ..Default::default() }),
        ("inputs.new_hires", pb::ProposalInputs { new_hires: Some(3), ..Default::default() }),
        ("inputs.attestations[0]", pb::ProposalInputs { attestations: vec!["trust me".into()], ..Default::default() }),
    ] {
        let r = c.propose_subsidy(proposal(inputs.clone())).await;
        s.refused(&format!("propose with bad {field}"), r, bad, field);
        let r = c.evaluate_subsidy(dry_run(proposal(inputs))).await;
        s.refused(&format!("evaluate with bad {field}"), r, bad, field);
    }
    let r = c
        .start_benefit(pb::StartBenefitRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            benefit: Some(pb::BenefitStart { months: 25, extended_to_retirement: false }),
            post_type: String::new(),
        })
        .await;
    s.refused("benefit of 25 months", r, bad, "benefit.months");
    let mut r = place(&case_id, pb::PlacementKind::Flexible, 1);
    r.placement.as_mut().unwrap().contract_months = Some(0);
    let r = c.record_placement(r).await;
    s.refused("contract of 0 months", r, bad, "placement.contract_months");

    // Text: control characters, NUL, bidirectional overrides, over-long.
    let texts = [
        ("NUL", "回访\u{0}完成".to_string()),
        ("BEL", "回访\u{7}".to_string()),
        ("ESC", "\u{1b}[31m回访".to_string()),
        ("RLO", "回访\u{202E}txet".to_string()),
        ("LRI", "回访\u{2066}x\u{2069}".to_string()),
        ("501 characters", "访".repeat(501)),
        ("a resident ID", format!("身份证 {id}")),
    ];
    for (what, text) in &texts {
        let mut r = contact(&case_id, days_ago(1));
        r.contact.as_mut().unwrap().note = text.clone();
        let r = c.record_contact(r).await;
        s.refused(&format!("note with {what}"), r, bad, "contact.note");
        let r = c
            .revoke_subsidy(pb::RevokeSubsidyRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(1),
                revocation: Some(pb::SubsidyRevocation { subsidy_id: "S-1".into(), reason: text.clone() }),
            })
            .await;
        s.refused(&format!("revocation reason with {what}"), r, bad, "revocation.reason");
        let r = e
            .report_labour_shortage(epb::ReportLabourShortageRequest {
                context: ctx(),
                case_id: enterprise.clone(),
                effective_date: days_ago(1),
                shortage: Some(epb::LabourShortage { posts: 1, skills: format!("{text}{}", "焊".repeat(500)) }),
            })
            .await;
        s.refused(&format!("skills with {what}, over 500"), r, bad, "shortage.skills");
        let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
        r.registration.as_mut().unwrap().name = format!("王{text}");
        let r = c.register_unemployment(r).await;
        s.refused(&format!("name with {what}"), r, bad, "registration.name");
        let mut r = contact(&case_id, days_ago(1));
        r.context.as_mut().unwrap().office = text.clone();
        let r = c.record_contact(r).await;
        s.refused(&format!("office with {what}"), r, bad, "context.office");
    }
    for training_id in ["T 1", "培训1", "😀", &"T".repeat(65)] {
        let r = c.enrol_training(enrol(&case_id, training_id, pb::TrainingProgramme::VocationalSkills, 1)).await;
        s.refused(&format!("training_id {training_id:.10}"), r, bad, "training.training_id");
    }
    // Emoji and CJK within the limits are text like any other.
    let mut r = contact(&case_id, days_ago(1));
    r.contact.as_mut().unwrap().note = "回访 😀 顺利".into();
    s.wrote("emoji note", c.record_contact(r).await);
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}

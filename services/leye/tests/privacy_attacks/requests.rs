//! What a request carries in: the command fingerprint, free text, the caller's
//! path, error texts, extreme numbers in every rule's dry run.

use super::*;

// === 1. the command fingerprint: a verifier of resident ID and name ===

/// README, "Personal data": the resident ID and name are sealed; "Keep the
/// master key apart from the data and its backups: whoever holds both reads
/// everything; without it nothing personal can be read." and, on erasure,
/// "The resident ID and name read as erased everywhere".
///
/// Every event's metadata keeps `command_fingerprint`, an unkeyed SHA-256 of
/// the case id and the command as decided (`cases.rs::fingerprint`), stored
/// in clear in `events.sqlite`, beside the clear birth date, sex and hukou
/// district. For a registration the command holds the resident ID and the
/// name in clear. The resident ID has only ~500 candidates once the birth
/// date, sex and address code are known (the sequence number), so a reader of
/// the store file alone (no master key, no pseudonym key) confirms or finds
/// the resident ID and name with a name list — also after the erasure
/// destroyed the person's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_fingerprint_reveals_no_resident_id_or_name_after_erasure() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(4_321);
    let case_id = register(&mut c, &id).await;
    let mut supervisor = served.client(&supervisor_token(&data)).await;
    supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");
    served.stop().await;

    // What a reader of events.sqlite alone has: no master key, no pseudonym key.
    let store = SqliteStore::open(data.join(STORE_FILE), Default::default()).await.unwrap();
    let events = store.read_all(None, 1000).await.unwrap();
    store.close().await;
    let e = events.into_iter().find(|e| e.event_type == "person.registered").expect("the registration");
    let case = Uuid::parse_str(&case_id).unwrap();
    let recorded = decode_with::<Person>(e, None).expect("decodes without keys");
    let PersonFact::Registered(withheld) = recorded.event.fact.clone() else { panic!("a registration") };
    assert!(withheld.resident_id.known().is_none() && withheld.name.is_none(), "sealed in the file");
    let birth = withheld.resident_id.birth_date();
    let address = withheld.hukou.county.as_str().to_string();
    let fingerprint = recorded.metadata.command_fingerprint.clone();

    // The attack: every sequence number, a list of common names.
    let names: Vec<String> = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "钱", "孙"]
        .iter()
        .flat_map(|s| ["伟", "芳", "娜", "敏", "静", "示例", "磊", "洋"].iter().map(move |g| format!("{s}{g}")))
        .collect();
    let mut found = None;
    'search: for seq in 0..1000u32 {
        let first17 = format!("{address}{}{seq:03}", birth.format("%Y%m%d"));
        let Some(check) = ResidentId::check_character(&first17) else { continue };
        let Ok(candidate) = ResidentId::parse(&format!("{first17}{check}"), today()) else { continue };
        if candidate.gender() != withheld.resident_id.gender() {
            continue;
        }
        for name in &names {
            let mut reg = withheld.clone();
            reg.resident_id = RegisteredId::Known(candidate.clone());
            reg.name = Some(PersonName::parse(name).unwrap());
            let command = DatedCommand {
                effective_date: recorded.metadata.effective_date,
                command: PersonCommand::RegisterUnemployment(reg),
            };
            let mut h = Sha256::new();
            h.update(case.as_bytes());
            h.update(serde_json::to_vec(&command).unwrap());
            let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if hex == fingerprint {
                found = Some((candidate.as_str().to_string(), name.clone()));
                break 'search;
            }
        }
    }
    assert_eq!(
        found, None,
        "the erased person's resident ID and name were recovered from events.sqlite alone \
         (command_fingerprint = unkeyed SHA-256 over them)"
    );
}

// === 2. free text: a resident ID the rule does not recognise ===

/// README, "Personal data": "text shaped like a resident ID is refused
/// (`INVALID_ARGUMENT` naming the field) in every command"; "Conventions": free
/// text "may not hold … an 18-character resident ID". A Chinese input method
/// in full-width mode types the digits as U+FF10–U+FF19, and a resident ID
/// is often grouped with the ideographic space U+3000; a zero-width space
/// (U+200B, not a control character) inside it is invisible: all are the
/// same resident ID, and all are accepted into a note that goes to NATS, `GetCase`
/// and replays in clear (free text is neither sealed nor withheld); in
/// `context.office` it reaches the read model analysts open (`spell.office`).
/// `values/text.rs::shaped_like_resident_id` only looks at ASCII digits and
/// joins only ASCII space and hyphen groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_id_in_full_width_digits_or_ideographic_space_groups_is_refused_in_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(77);
    let case_id = register(&mut c, &id).await;

    // The rule holds for the ASCII forms.
    for note in [format!("身份证{id}"), format!("身份证 {} {} {}", &id[..6], &id[6..14], &id[14..])] {
        let s = c.record_contact(contact(&case_id, &note)).await.expect_err("refused");
        assert_eq!(s.code(), tonic::Code::InvalidArgument, "{s:?}");
        assert!(s.message().contains("contact.note") && !holds(&status_bytes(&s), &id[..17]), "{s:?}");
    }
    let mut accepted = Vec::new();
    for note in [
        format!("身份证{}", full_width(&id)),
        format!("身份证 {}\u{3000}{}\u{3000}{}", &id[..6], &id[6..14], &id[14..]),
        // Invisible: reads exactly as the resident ID on a screen.
        format!("身份证{}\u{200B}{}", &id[..9], &id[9..]),
    ] {
        match c.record_contact(contact(&case_id, &note)).await {
            Err(s) if s.code() == tonic::Code::InvalidArgument && s.message().contains("contact.note") => {}
            other => accepted.push(format!("{note:?}: {:?}", other.map(|_| "accepted and recorded"))),
        }
    }
    // The office (free text when the token names none) goes into the read
    // model analysts open (`spell.office`).
    let other = resident_id(78);
    let office = format!("窗口{}", full_width(&other));
    let mut r = registration(&other, NAME);
    r.context.as_mut().unwrap().office = office.clone();
    if c.register_unemployment(r).await.is_ok() {
        let readmodel = data.join("readmodel");
        let mut reached = Vec::new();
        for _ in 0..100 {
            reached = files_holding(&readmodel, &office);
            if !reached.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        accepted.push(format!("context.office {office:?}: accepted; in the analysts' read model: {reached:?}"));
    }
    served.stop().await;
    assert!(accepted.is_empty(), "a resident ID written in another form went into free text:\n{}", accepted.join("\n"));
}

// === 3. the audit trail and the log keep the caller's path ===

/// README, "The audit trail": "time, principal, how authenticated, peer,
/// operation, case ids, status and denial reason; never a resident ID or a
/// name"; COMPLIANCE §8.1.4.8: "personal data never in logs … or the audit
/// trail". The guard records `operation` as the request's raw path
/// (`grpc/guard.rs`: `path.trim_start_matches('/')`, also for paths no rule
/// knows and for unauthenticated callers) and logs it at `info` in "request
/// refused". Metrics and spans reduce an unknown path to `other` ("so callers
/// cannot mint label values"); the trail and the log do not. Anyone who can
/// reach the port, without a credential, writes a resident ID (or any text)
/// into the tamper-evident trail and the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_never_puts_a_resident_id_into_the_audit_trail_or_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let id = resident_id(901);
    let anonymous = call_path(served.addr, &format!("/leye.person.v1.PersonCaseService/{id}"), None).await;
    assert_eq!(anonymous, (tonic::Code::Unauthenticated as i32).to_string());
    let signed = call_path(served.addr, &format!("/x/{id}"), Some(&support::token(&data))).await;
    assert_eq!(signed, (tonic::Code::PermissionDenied as i32).to_string(), "NO_RULE");
    // The metrics label is reduced to `other`.
    let metrics = http_get(served.metrics, "/metrics", None).await;
    assert!(!metrics.contains(&id), "metrics hold it");
    let log = served.log_text();
    served.stop().await;
    let mut leaks = files_holding(&data, &id);
    leaks.retain(|f| !f.ends_with(".log"));
    if log.contains(&id) {
        leaks.push(format!("the log: {}", log.lines().find(|l| l.contains(&id)).unwrap_or_default()));
    }
    assert!(leaks.is_empty(), "a resident ID sent as a path is kept in:\n{}", leaks.join("\n"));
}

// === 4. error texts and details ===

/// README, "Errors": "Error texts never repeat a resident ID or a name"; the
/// guide: "Bad input gets a clear error naming the field and the rule".
/// `rule_id` accepts digits (`[a-z0-9.-]`), so a resident ID passes its form
/// check; the refusal `UNKNOWN_RULE` then repeats it in `ErrorInfo.metadata`
/// (`grpc/status.rs::rule_not_applicable`, `meta.insert("rule_id", …)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_rule_id_is_not_repeated_in_the_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let case_id = register(&mut c, &resident_id(55)).await;
    let id = resident_id(56);
    let proposal = pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        proposal_id: "P-1".into(),
        rule_id: id.clone(),
        payee: Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) }),
        inputs: None,
    };
    let s = c.propose_subsidy(proposal).await.expect_err("no such rule");
    served.stop().await;
    assert_eq!(s.code(), tonic::Code::InvalidArgument, "{s:?}");
    let fields: Vec<String> = s
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["rule_id"], "names the field");
    assert!(!s.message().contains(&id), "the message: {}", s.message());
    assert!(
        !holds(&status_bytes(&s), &id),
        "the refusal's details repeat the value sent: {:?}",
        s.get_error_details().error_info()
    );
}

/// The refusals a caseworker meets with personal data in the request: none
/// repeats it, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_with_personal_data_in_the_request_name_the_field_without_repeating_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(12);
    let case_id = register(&mut c, &id).await;
    let other = resident_id(13);
    let mut failures = Vec::new();
    let mut check = |what: &str, r: Result<(), tonic::Status>, field: &str| match r {
        Err(s) if s.code() == tonic::Code::InvalidArgument => {
            let b = status_bytes(&s);
            if !s.message().contains(field) {
                failures.push(format!("{what}: does not name {field}: {}", s.message()));
            }
            for secret in [&id[..17], &other[..17], NAME] {
                if holds(&b, secret) {
                    failures.push(format!("{what}: repeats {secret}: {}", s.message()));
                }
            }
        }
        other => failures.push(format!("{what}: {:?}", other.map_err(|s| (s.code(), s.message().to_string())))),
    };
    // A wrong check character; a resident ID in a code; in the office; a
    // name in a field of codes; NUL and control characters; a huge note.
    let wrong = format!("{}{}", &other[..17], if other.ends_with('0') { '1' } else { '0' });
    let r = c.register_unemployment(registration(&wrong, NAME)).await.map(|_| ());
    check("bad check character", r, "registration.resident_id");
    let r = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: wrong.clone() }).await;
    check("find with a bad check character", r.map(|_| ()), "resident_id");
    let mut r = registration(&other, NAME);
    r.registration.as_mut().unwrap().residence.as_mut().unwrap().community_code = other.clone();
    check("an ID as the community", c.register_unemployment(r).await.map(|_| ()), "community_code");
    let mut r = contact(&case_id, "ok");
    r.case_id = other.clone();
    check("an ID as the case id", c.record_contact(r).await.map(|_| ()), "case_id");
    let mut r = contact(&case_id, "ok");
    r.context.as_mut().unwrap().office = format!("窗口{other}");
    check("an ID in the office", c.record_contact(r).await.map(|_| ()), "context.office");
    let r = c
        .recommend_job(pb::RecommendJobRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            recommendation: Some(pb::JobRecommendation {
                vacancy_id: other.clone(),
                enterprise_credit_code: String::new(),
                two_way: false,
            }),
        })
        .await;
    check("an ID as the vacancy id", r.map(|_| ()), "recommendation.vacancy_id");
    let r = c
        .enrol_training(pb::EnrolTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            training: Some(pb::TrainingEnrolment {
                training_id: NAME.into(),
                programme: pb::TrainingProgramme::VocationalSkills as i32,
                provider: format!("{NAME} {other}"),
            }),
        })
        .await;
    check("a name as the training id, an ID in the provider", r.map(|_| ()), "training");
    let r = c.record_contact(contact(&case_id, &format!("{NAME}\0{NAME}"))).await;
    check("NUL in a note", r.map(|_| ()), "contact.note");
    let r = c.record_contact(contact(&case_id, &format!("{NAME}{}", "长".repeat(5000)))).await;
    check("a long note", r.map(|_| ()), "contact.note");
    let r = c.register_unemployment(registration(&other, &format!("{NAME}\u{202E}"))).await;
    check("bidi control in a name", r.map(|_| ()), "registration.name");
    let r = c.register_unemployment(registration(&other, &"钱".repeat(51))).await;
    check("a name over 50 characters", r.map(|_| ()), "registration.name");
    let r = c.register_unemployment(registration(&other, "")).await;
    check("an empty name", r.map(|_| ()), "registration.name");
    let view = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap().into_inner();
    served.stop().await;
    assert_eq!(view.case.unwrap().revision, 0, "nothing was written on the case");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// === 8. no panic on any input: extreme numbers in every rule's dry run ===

/// Every rule id of the built-in catalogue (`policies/*.toml`).
fn catalogue_rule_ids() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut ids = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap_or_default();
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("id = \"") {
                ids.push(v.trim_end_matches('"').to_string());
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The guide: "No panic on any input from outside". `EvaluateSubsidy` (a dry
/// run, nothing written) with the largest numbers the contract allows, for
/// every rule of the catalogue: each answer is a decision or a refusal
/// naming the rule, never `INTERNAL`/`UNKNOWN` or a dropped call, and the
/// server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_numbers_in_every_rules_dry_run_get_an_answer_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let case_id = register(&mut c, &resident_id(31)).await;
    let rules = catalogue_rule_ids();
    assert!(rules.len() > 40, "{rules:?}");
    let (mut bad, mut answers) = (Vec::new(), std::collections::BTreeMap::<String, u32>::new());
    for rule in &rules {
        for (amount, months, units) in [(i64::MAX, u32::MAX, u32::MAX), (1, 1, 1)] {
            let inputs = pb::ProposalInputs {
                amount_fen: amount,
                period_from: "1900-01-01".into(),
                period_to: days_ago(1),
                units,
                base_fen: amount,
                loan: Some(pb::LoanInput { principal_fen: amount, months, contract_date: "1900-01-01".into() }),
                post_type: "worker".into(),
                person_insured_months: Some(months),
                business: Some(pb::BusinessInput {
                    registered_on: "1900-01-01".into(),
                    employees: months,
                    district: "120111".into(),
                }),
                attestations: vec![],
                enterprise_insured_months: None,
                new_hires: None,
                new_hires_local_hukou: None,
            };
            let r = c
                .evaluate_subsidy(pb::EvaluateSubsidyRequest {
                    case_id: case_id.clone(),
                    effective_date: days_ago(1),
                    proposal_id: "P-X".into(),
                    rule_id: rule.clone(),
                    payee: Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) }),
                    inputs: Some(inputs),
                })
                .await;
            *answers.entry(format!("{:?}", r.as_ref().map(|_| ()).map_err(|s| s.code()))).or_default() += 1;
            if let Err(s) = r {
                use tonic::Code::*;
                if matches!(s.code(), Internal | Unknown | Unavailable | Cancelled) {
                    bad.push(format!("{rule} amount {amount}: {:?} {}", s.code(), s.message()));
                    c = served.client(&support::token(&data)).await;
                }
            }
        }
    }
    let alive = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await;
    let panics: Vec<String> = served.log_text().lines().filter(|l| l.contains("panicked")).map(String::from).collect();
    let _ = served.child.kill().await;
    assert!(alive.is_ok(), "the server answers afterwards: {alive:?}");
    assert!(answers.get("Ok(())").is_some_and(|&n| n > 10), "evaluated, not refused at the door: {answers:?}");
    assert!(bad.is_empty() && panics.is_empty(), "{}\n{}", bad.join("\n"), panics.join("\n"));
}

//! Households over time: membership on a date, places of members, lists,
//! goals within the documents' terms, GetCase as of a date.

use super::*;

/// TARGETS.md: "A household belongs to every jurisdiction one of its members
/// on `A` lives in (counted once at each level)"; "A person counts for H only
/// while a member: their signals, their placements and their community."
///
/// By hand: A (signal) lives in 120111001002, B in 120111002001, both in H
/// from −100. B leaves −10. Today: H listed and counted for Xiqing, the city,
/// A's community; not for B's community (B left). As of −20: both
/// communities, counted once for Xiqing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_belongs_to_the_places_of_its_members_on_the_date() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (ca, cb) = ("120111001002", "120111002001");
    c.register_unemployment(registration_in(&resident_id("19800101", 11), 100, &h, ca, true)).await.unwrap();
    let b = c
        .register_unemployment(registration_in(&resident_id("19820303", 22), 100, &h, cb, false))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let pos = leave(&mut c, &b, 10, &h).await;
    let count = |r: &apb::GetTargetsResponse| target(r, "zero_employment_households_outstanding").0;
    let a2 = a.clone();
    let at = |j: &'static str, as_of: String| {
        let mut a = a2.clone();
        async move {
            a.get_targets(apb::GetTargetsRequest {
                jurisdiction: j.into(),
                period_from: days_ago(120),
                period_to: days_ago(0),
                as_of,
                min_position: pos,
            })
            .await
            .expect("targets")
            .into_inner()
        }
    };
    assert_eq!(count(&at("120111", String::new()).await), 1);
    assert_eq!(count(&at("", String::new()).await), 1);
    assert_eq!(count(&at(ca, String::new()).await), 1);
    assert_eq!(count(&at(cb, String::new()).await), 0, "B has left");
    assert_eq!(list_zero(&mut a, cb, pos).await, []);
    assert_eq!(list_zero(&mut a, "120111", pos).await, [(h.clone(), vec![ca.to_string()])]);
    let then = at("120111", days_ago(20)).await;
    assert_eq!(count(&then), 1, "counted once");
    assert_eq!(count(&at(cb, days_ago(20)).await), 1);
    server.stop().await;
}

/// Goals (TARGETS.md "Goals"): zero-employment households outstanding is a
/// stock goal of Xiqing with as-of in 2022-06-21..2025-12-31 (001 § 9) and of
/// the city in 2022-05-05..2025-12-31 (003 § 14); "show the bare figure
/// elsewhere" (domain.md §3). As of today (after 2025) no goal applies; as of
/// 2025-06-30 both have "0".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zero_employment_goal_applies_only_within_its_documents_term() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let ago = (today() - start).num_days();
    let (_, pos) = register_in(&mut c, &resident_id("19800101", 11), ago, Some(&h), true).await;
    let report = |j: &str, from: &str, to: &str| apb::GetTargetsRequest {
        jurisdiction: j.into(),
        period_from: from.into(),
        period_to: to.into(),
        as_of: String::new(),
        min_position: pos,
    };
    for j in ["120111", ""] {
        let r = a.get_targets(report(j, "2025-01-01", "2025-06-30")).await.unwrap().into_inner();
        assert_eq!(target(&r, "zero_employment_households_outstanding").0, 1);
        assert_eq!(goal(&r, "zero_employment_households_outstanding").1, Some(false), "{j}: 2025 is in the term");
        let r = a.get_targets(report(j, &days_ago(30), &days_ago(0))).await.unwrap().into_inner();
        assert_eq!(target(&r, "zero_employment_households_outstanding").0, 1);
        assert_eq!(goal(&r, "zero_employment_households_outstanding"), (String::new(), None), "{j}: after 2025");
    }
    let r = a.get_targets(report("120101", "2025-01-01", "2025-06-30")).await.unwrap().into_inner();
    assert_eq!(goal(&r, "zero_employment_households_outstanding"), (String::new(), None), "Heping sets none");
    server.stop().await;
}

/// TARGETS.md "Membership": join inclusive, leave exclusive; employment
/// counts "only on days it overlaps a membership". By hand: A (signal)
/// registers −100 naming H. B registers −120, placed −90, joins H −100,
/// leaves −60, joins again −40 (still placed). As of −50: zero since −60;
/// today: cleared on −40; B's two memberships listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_employed_member_leaving_and_rejoining() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (b, _) = register_in(&mut c, &resident_id("19800101", 11), 120, None, false).await;
    register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h), true).await;
    join(&mut c, &b, 100, &h).await;
    place(&mut c, &b, 90).await;
    leave(&mut c, &b, 60, &h).await;
    let pos = join(&mut c, &b, 40, &h).await;
    assert_eq!(status(&household(&mut a, &h, days_ago(95), pos).await), zero(100, 100));
    assert_eq!(status(&household(&mut a, &h, days_ago(70), pos).await), cleared(100, 90));
    assert_eq!(status(&household(&mut a, &h, days_ago(50), pos).await), zero(100, 60));
    assert_eq!(status(&household(&mut a, &h, days_ago(61), pos).await), cleared(100, 90));
    assert_eq!(status(&household(&mut a, &h, days_ago(60), pos).await), zero(100, 60), "leave exclusive");
    assert_eq!(status(&household(&mut a, &h, days_ago(41), pos).await), zero(100, 60));
    assert_eq!(status(&household(&mut a, &h, days_ago(40), pos).await), cleared(100, 40), "join inclusive");
    let now = household(&mut a, &h, days_ago(0), pos).await;
    assert_eq!(status(&now), cleared(100, 40));
    let b_rows: Vec<_> =
        now.members.iter().filter(|m| m.case_id == b).map(|m| (m.joined_on.clone(), m.left_on.clone())).collect();
    assert_eq!(b_rows, [(days_ago(100), days_ago(60)), (days_ago(40), String::new())]);
    server.stop().await;
}

/// README "Household membership": "It needs the case, not an open
/// registration: membership outlives a spell"; person.proto
/// `LeaveHouseholdRequest.effective_date`: "First day no longer a member,
/// not before the day joined (BEFORE_START)" (unlike the join, no "not
/// before the latest registration").
///
/// By hand: P registers −100 naming H (member from −100), exits as employed
/// −60, registers again −20 (not naming a household: the membership
/// continues). The caseworker learns P moved out on −40: −40 is not before
/// the join (−100), so the leave is recorded, and H as of −30 has no member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_dated_between_two_spells_is_recorded() {
    let server = spawn().await;
    let mut c = server.client().await;
    let h = Uuid::new_v4().to_string();
    let rid = resident_id("19800101", 11);
    let (p, _) = register_in(&mut c, &rid, 100, Some(&h), false).await;
    exit(&mut c, &p, 60, pb::ExitReason::Employed).await;
    c.register_unemployment(register_request(&rid, days_ago(20))).await.expect("register again");
    let case = c.get_case(pb::GetCaseRequest { case_id: p.clone(), as_of: None }).await.unwrap().into_inner();
    assert_eq!(case.case.unwrap().current_household.expect("membership continues").joined_on, days_ago(100));
    let left = c.leave_household(leave_req(&p, days_ago(40), &h)).await;
    assert!(left.is_ok(), "a leave dated −40, after the join on −100: {:?}", left.err().map(|e| reason(&e)));
    server.stop().await;
}

/// API.md: after an exit for death, "leaving a household stay[s] possible";
/// joining one needs a living person (`DECEASED`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deceased_member_can_leave_but_not_join() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h1), false).await;
    exit(&mut c, &p, 30, pb::ExitReason::Deceased).await;
    leave(&mut c, &p, 20, &h1).await;
    let e = c.join_household(join_req(&p, days_ago(10), &h2)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("DECEASED"));
    server.stop().await;
}

/// person.proto `households`: "Every household membership, in order; only
/// the last may be current" — after a leave and a rejoin of the same
/// household, GetCase shows both, the second current.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_case_shows_every_membership_after_a_rejoin() {
    let server = spawn().await;
    let mut c = server.client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), false).await;
    leave(&mut c, &p, 60, &h).await;
    join(&mut c, &p, 40, &h).await;
    let case = c.get_case(pb::GetCaseRequest { case_id: p, as_of: None }).await.unwrap().into_inner().case.unwrap();
    let rows: Vec<_> = case.households.iter().map(|r| (r.joined_on.clone(), r.left_on.clone())).collect();
    assert_eq!(rows, [(days_ago(100), days_ago(60)), (days_ago(40), String::new())]);
    assert_eq!(case.current_household.unwrap().joined_on, days_ago(40));
    server.stop().await;
}

/// README "Access": GetTargets for "the requested area"; ListActions and
/// GetHousehold for "the area; a household: any member's place", "reached
/// through the places of its members on the date asked". By hand: H has A
/// (Xiqing, signal) and B (Heping) from −100; B leaves −10. A Heping analyst
/// sees H as of −20 (B a member), not today; a Xiqing analyst sees Xiqing's
/// targets and its layoff list, not the city's nor Heping's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_analyst_sees_its_own_area_and_households_through_current_members() {
    let server = spawn().await;
    let mut c = server.client().await;
    let h = Uuid::new_v4().to_string();
    c.register_unemployment(registration_in(&resident_id("19800101", 11), 100, &h, "120111001002", true))
        .await
        .unwrap();
    let b = c
        .register_unemployment(registration_in(&resident_id("19820303", 22), 100, &h, "120101001001", false))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let pos = leave(&mut c, &b, 10, &h).await;
    let mut heping = server.targets_client_as("analyst-hp", &["analyst"], &["120101"]).await;
    assert_eq!(status(&household(&mut heping, &h, days_ago(20), pos).await), zero(100, 100));
    let e = heping
        .get_household(apb::GetHouseholdRequest { household_id: h.clone(), as_of: String::new(), min_position: pos })
        .await
        .unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::PermissionDenied, Some("OUT_OF_JURISDICTION")));

    let mut xiqing = server.targets_client_as("analyst-xq", &["analyst"], &["120111"]).await;
    assert_eq!(status(&household(&mut xiqing, &h, String::new(), pos).await), zero(100, 100));
    let own = targets(&mut xiqing, "120111", pos).await;
    assert_eq!(target(&own, "zero_employment_households_outstanding").0, 1);
    for j in ["", "120101"] {
        let e = xiqing
            .get_targets(apb::GetTargetsRequest {
                jurisdiction: j.into(),
                period_from: days_ago(120),
                period_to: days_ago(0),
                as_of: String::new(),
                min_position: pos,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{j:?}");
    }
    assert_eq!(unserved(&mut xiqing, "120111", String::new(), pos).await, []);
    server.stop().await;
}

/// analytics.proto `page_size`: "1..1000, default 100"; TARGETS.md: the
/// zero-employment list ordered "by the start of the current stretch, then
/// id". By hand: seven households identified −70..−10 (10 days apart): page
/// one holds the five oldest, page two the other two; total 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zero_employment_list_pages_oldest_first() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let mut expected = Vec::new();
    let mut pos = 0;
    for n in 0..7u32 {
        let h = Uuid::new_v4().to_string();
        let ago = 70 - 10 * i64::from(n);
        pos = register_in(&mut c, &resident_id("19800101", 2 * n + 1), ago, Some(&h), true).await.1;
        expected.push((h, ago));
    }
    let page = |token: String| apb::ListActionsRequest {
        list: apb::ActionList::ZeroEmploymentHouseholds as i32,
        jurisdiction: "120111".into(),
        page_size: 5,
        page_token: token,
        min_position: pos,
        ..Default::default()
    };
    let first = a.list_actions(page(String::new())).await.unwrap().into_inner();
    assert_eq!(first.total, 7);
    assert!(!first.next_page_token.is_empty());
    let second = a.list_actions(page(first.next_page_token.clone())).await.unwrap().into_inner();
    assert!(second.next_page_token.is_empty());
    let got: Vec<(String, i64)> =
        first.items.iter().chain(&second.items).map(|i| (i.household_id.clone(), i.days)).collect();
    assert_eq!(got, expected);
    let mut small = page(String::new());
    small.page_size = 1001;
    assert_eq!(a.list_actions(small).await.unwrap_err().code(), Code::InvalidArgument);
    server.stop().await;
}

/// README errors: "`command_id` reused for another command" is
/// `ALREADY_EXISTS` `COMMAND_ID_REUSED`; the same command again is a
/// duplicate writing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_join_resent_is_a_duplicate_and_a_reused_id_is_refused() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, None, false).await;
    let h = Uuid::new_v4().to_string();
    let id = Uuid::new_v4();
    let mut req = join_req(&p, days_ago(50), &h);
    req.context = ctx_with(id);
    assert!(!c.join_household(req.clone()).await.unwrap().into_inner().result.unwrap().duplicate);
    let before = server.event_count();
    assert!(c.join_household(req.clone()).await.unwrap().into_inner().result.unwrap().duplicate);
    let mut other = req.clone();
    other.effective_date = days_ago(40);
    let e = c.join_household(other).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::AlreadyExists, Some("COMMAND_ID_REUSED")));
    let mut l = leave_req(&p, days_ago(10), &h);
    l.context = ctx_with(id);
    let e = c.leave_household(l).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::AlreadyExists, Some("COMMAND_ID_REUSED")));
    assert_eq!(server.event_count(), before);
    server.stop().await;
}

/// README "Hires and placements": "a hire is recorded on the enterprise's
/// case; leye's hire linker then records the placement on the person's case
/// (... the hire's contract and start date)"; TARGETS.md: a placement current
/// clears the household. By hand: A (signal) registers −100 naming H; an
/// enterprise records A's hire on −5 starting −30: H cleared on −30.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hire_recorded_at_an_enterprise_clears_the_household_from_its_start() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut e = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    let x = register_enterprise(&mut e, "91120111MA05JX0K0", "120111", 800).await;
    e.record_hire(epb::RecordHireRequest {
        context: ctx(),
        case_id: x,
        effective_date: days_ago(5),
        hire: Some(epb::Hire {
            hire_id: "h1".into(),
            person_case_id: p,
            contract_months: 12,
            started_on: days_ago(30),
        }),
    })
    .await
    .expect("hire");
    let mut last = None;
    for _ in 0..200 {
        let now = household(&mut a, &h, String::new(), 0).await;
        if !now.zero_employment {
            last = Some(now);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let now = last.expect("the linker's placement reaches the household");
    assert_eq!(status(&now), cleared(100, 30));
    assert_eq!(status(&household(&mut a, &h, days_ago(31), 0).await), zero(100, 100));
    server.stop().await;
}

/// TARGETS.md `difficulty_employment_rate` (001 § 9 "其他就业困难人员"): "recognised
/// with employment difficulty in a category other than zero-employment
/// household (a recognition listing that category and another counts for
/// the other)". By hand (period −120..0, Xiqing): P zero-employment only (out),
/// Q zero-employment + single parent, placed −30 (in, placed), R single
/// parent (in, not placed): 1 / 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_employment_household_members_are_not_other_difficulty_persons() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let mut recognise_as = async |case: &str, categories: Vec<pb::DifficultyCategory>| {
        c.recognise_difficulty(pb::RecogniseDifficultyRequest {
            context: ctx(),
            case_id: case.into(),
            effective_date: days_ago(90),
            difficulty: Some(pb::Difficulty {
                categories: categories.into_iter().map(|k| k as i32).collect(),
                valid_from: days_ago(90),
                valid_to: days_ago(-300),
            }),
        })
        .await
        .expect("recognise")
        .into_inner()
        .result
        .unwrap()
        .global_position
    };
    use pb::DifficultyCategory::{SingleParentHousehold as Single, ZeroEmploymentHousehold as Zero};
    let mut cases = Vec::new();
    {
        let mut c2 = server.client().await;
        for n in [11, 13, 15] {
            cases.push(register_in(&mut c2, &resident_id("19800101", n), 100, None, false).await.0);
        }
    }
    recognise_as(&cases[0], vec![Zero]).await;
    recognise_as(&cases[1], vec![Zero, Single]).await;
    recognise_as(&cases[2], vec![Single]).await;
    let mut c3 = server.client().await;
    let pos = place(&mut c3, &cases[1], 30).await;
    let r = targets(&mut a, "120111", pos).await;
    assert_eq!(target(&r, "difficulty_employment_rate"), (1, Some(2)));
    server.stop().await;
}

/// TARGETS.md: an exit as employed "is employment from the exit's date ...
/// until the member's next registration"; "A person employed before joining
/// is an employed member from the join". By hand: S registers −120, exits as
/// employed −110, joins H −50. A (signal) registers −100 naming H. H: zero
/// since −100 until −51, cleared on −50; not listed today.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_exited_as_employed_before_joining_clears_from_the_join() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (s, _) = register_in(&mut c, &resident_id("19800101", 11), 120, None, false).await;
    exit(&mut c, &s, 110, pb::ExitReason::Employed).await;
    register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h), true).await;
    let pos = join(&mut c, &s, 50, &h).await;
    assert_eq!(status(&household(&mut a, &h, days_ago(51), pos).await), zero(100, 100));
    assert_eq!(status(&household(&mut a, &h, days_ago(0), pos).await), cleared(100, 50));
    assert_eq!(listed(&mut a, &h, days_ago(0), pos).await, None);
    assert_eq!(listed(&mut a, &h, days_ago(51), pos).await, Some((49, "overdue".into(), days_ago(100))));
    server.stop().await;
}

/// person.proto `GetCaseRequest.effective_date`: "The world as known now, up
/// to this date". By hand: P registers −100 naming H1, leaves −40 and joins
/// H2 −40. As of −41: in H1 since −100; as of −40: in H2 since −40, H1 left
/// −40.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_case_as_of_a_date_shows_the_household_of_that_date() {
    use pb::get_case_request::AsOf;
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h1), false).await;
    leave(&mut c, &p, 40, &h1).await;
    join(&mut c, &p, 40, &h2).await;
    let mut on = async |ago: i64| {
        c.get_case(pb::GetCaseRequest { case_id: p.clone(), as_of: Some(AsOf::EffectiveDate(days_ago(ago))) })
            .await
            .expect("get case")
            .into_inner()
            .case
            .unwrap()
    };
    let then = on(41).await;
    let current = then.current_household.expect("in H1");
    assert_eq!((current.membership.unwrap().household_id, current.joined_on), (h1.clone(), days_ago(100)));
    assert_eq!(then.households.len(), 1);
    let now = on(40).await;
    let current = now.current_household.expect("in H2");
    assert_eq!((current.membership.unwrap().household_id, current.joined_on), (h2.clone(), days_ago(40)));
    let rows: Vec<_> = now
        .households
        .iter()
        .map(|r| (r.membership.as_ref().unwrap().household_id.clone(), r.joined_on.clone(), r.left_on.clone()))
        .collect();
    assert_eq!(rows, [(h1, days_ago(100), days_ago(40)), (h2, days_ago(40), String::new())]);
    server.stop().await;
}

/// 002 #2, 004 § 1 (policies/tianjin.toml wording): "参保职工30人及以下 (30
/// included) 的小微企业，裁员率放宽至20% (at most 20 %)"; the layoffs are the
/// batch layoffs of the last 12 months. By hand: 30 insured, 6 laid off
/// (20 %): eligible; another with 7 (23 %): refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_layoffs_feed_the_stability_refund_at_its_20_percent_edge() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let mut decide = async |body: &str, people: u32| {
        let x = register_enterprise(&mut c, body, "120111", 30).await;
        layoff(&mut c, &x, 60, "l", people).await;
        let mut p = refund(&x, "P1");
        p.payee = Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(credit_code(body))) });
        c.evaluate_subsidy(enterprise_dry_run(p)).await.expect("dry run").into_inner().decision.unwrap()
    };
    let six = decide("91120111MA05JX0K0", 6).await;
    assert!(six.granted, "{six:#?}");
    let seven = decide("91120111MA05JX0K1", 7).await;
    assert!(!seven.granted, "{seven:#?}");
    server.stop().await;
}

/// API.md: `ALREADY_IN_HOUSEHOLD` covers "registering naming another
/// household, while a member of one"; a membership may not start before
/// the previous one was left (`BEFORE_PREVIOUS_END`), by registration too.
/// By hand: P registers −100 naming H1, exits (moved away) −80. Registering
/// −70 naming H2: refused (still in H1). P leaves H1 −50; registering −60
/// naming H2: refused (before the leave); −50 naming H2: joins H2 on −50.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_naming_another_household_follows_the_membership_rules() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let rid = resident_id("19800101", 11);
    let (p, _) = register_in(&mut c, &rid, 100, Some(&h1), false).await;
    exit(&mut c, &p, 80, pb::ExitReason::MovedAway).await;
    let naming = |ago: i64| {
        let mut reg = register_request(&rid, days_ago(ago));
        reg.registration.as_mut().unwrap().household = membership(&h2, pb::HouseholdRelation::Head);
        reg
    };
    let e = c.register_unemployment(naming(70)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("ALREADY_IN_HOUSEHOLD"));
    leave(&mut c, &p, 50, &h1).await;
    let e = c.register_unemployment(naming(60)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("BEFORE_PREVIOUS_END"));
    c.register_unemployment(naming(50)).await.expect("registers naming H2");
    let case = c.get_case(pb::GetCaseRequest { case_id: p, as_of: None }).await.unwrap().into_inner().case.unwrap();
    let current = case.current_household.unwrap();
    assert_eq!((current.membership.unwrap().household_id, current.joined_on), (h2, days_ago(50)));
    server.stop().await;
}

/// analytics.proto `ListActionsRequest.as_of`: "default today"; the period
/// applies to the matchmaker and batch-layoff lists only. By hand: A
/// (signal) registers −100 naming H, placed −40. The zero-employment list
/// with a period −120..−50 and no `as_of` is as of today: H cleared, not
/// listed; with `as_of` −50: outstanding 50 days, overdue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zero_employment_list_is_as_of_today_whatever_the_period() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    let pos = place(&mut c, &p, 40).await;
    let page = a
        .list_actions(apb::ListActionsRequest {
            list: apb::ActionList::ZeroEmploymentHouseholds as i32,
            jurisdiction: "120111".into(),
            period_from: days_ago(120),
            period_to: days_ago(50),
            min_position: pos,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rows: Vec<_> = page.items.iter().map(|i| (i.household_id.clone(), i.days, i.status.clone())).collect();
    assert_eq!(rows, []);
    assert_eq!(listed(&mut a, &h, days_ago(50), pos).await, Some((50, "overdue".into(), days_ago(100))));
    server.stop().await;
}

/// API.md: target figures "ignore facts effective after `as_of` (default:
/// the end of the period, or today)"; the household count is a stock on
/// `A`. By hand: A (signal) registers −100 naming H, placed −40. Period
/// −120..−50 without as_of: 1 outstanding; period −30..0: 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_household_count_is_a_stock_on_the_periods_end() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    let pos = place(&mut c, &p, 40).await;
    let mut count = async |from: i64, to: i64| {
        let r = a
            .get_targets(apb::GetTargetsRequest {
                jurisdiction: "120111".into(),
                period_from: days_ago(from),
                period_to: days_ago(to),
                as_of: String::new(),
                min_position: pos,
            })
            .await
            .unwrap()
            .into_inner();
        target(&r, "zero_employment_households_outstanding").0
    };
    assert_eq!(count(120, 50).await, 1);
    assert_eq!(count(30, 0).await, 0);
    server.stop().await;
}

//! Every rule of the shipped catalogue, on each side of each threshold its
//! seed states. Each row names the clause; the boundary it tests is the
//! wording quoted in the rule's `[rule.wording]`:
//! - 以上 / 以内 / 内 include the number (民法典 第1259条): "半年以上" holds at 6 full months.
//! - 满N个月 is reached on the same day of the month N months later.
//! - 年满N周岁 holds from the Nth birthday.
//! - 不足N年 is strict; 不超过 / 最高 / 最长 are inclusive caps.
//! - 达到…20% is inclusive; 低于 (below the control target) is strict.
//!
//! The test `every_rule_has_a_granted_and_a_refused_row` keeps the table complete.

#[path = "../common/mod.rs"]
mod common;

mod binhai;
mod heping;
mod tianjin;
mod xiqing;

use std::collections::BTreeSet;

use common::{Case, case, run};
use leye_domain::{
    person::{DifficultyCategory as D, PersonGroup as G, PlacementKind as P, TrainingProgramme as T},
    values::Gender,
};
use leye_policy::{Attestation as A, EnterpriseKind as E, PostType};

fn all() -> Vec<Case> {
    [xiqing::cases(), binhai::cases(), heping::cases(), tianjin::cases()].concat()
}

#[test]
fn xiqing_rules_at_their_thresholds() {
    let f = run(&xiqing::cases());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn binhai_rules_at_their_thresholds() {
    let f = run(&binhai::cases());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn heping_rules_at_their_thresholds() {
    let f = run(&heping::cases());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn tianjin_rules_at_their_thresholds() {
    let f = run(&tianjin::cases());
    assert!(f.is_empty(), "{}", f.join("\n\n"));
}

#[test]
fn every_rule_has_a_granted_and_a_refused_row() {
    let cases = all();
    let granted: BTreeSet<&str> =
        cases.iter().filter(|c| c.expect.is_none()).map(|c| c.request.rule_id.as_str()).collect();
    let refused: BTreeSet<&str> =
        cases.iter().filter(|c| c.expect.is_some()).map(|c| c.request.rule_id.as_str()).collect();
    let mut missing = Vec::new();
    for r in leye_policy::default_catalogue().rules() {
        if !granted.contains(r.id.as_str()) {
            missing.push(format!("{}: no granted row", r.id));
        }
        if !refused.contains(r.id.as_str()) {
            missing.push(format!("{}: no refused row", r.id));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

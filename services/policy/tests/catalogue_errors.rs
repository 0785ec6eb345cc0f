//! An invalid catalogue is refused at load, with a message naming the file,
//! the rule (or parameter) and the field. Each test breaks one thing in an
//! otherwise valid file, loaded beside the shipped parameters.

use leye_policy::{Catalogue, SHIPPED_FILES};

fn shipped(name: &str) -> &'static str {
    SHIPPED_FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap()
}

const HEADER: &str = r#"
[jurisdiction]
key = "xiqing"
district = "120111"
name = "西青区"

[[document]]
code = "000"
title = "seed 000"
issued = 2020-05-18
"#;

const RULE: &str = r#"
[[rule]]
id = "xiqing.hiring.x"
programme = "xiqing-hiring-x"
title = "test rule"
source = "000 § 9"
valid_from = 2020-05-18
subject = "person"
payee = "enterprise"
amount = { kind = "fixed", fen = 100000 }
limits = { one_time = true }

[rule.eligible]
groups_any = ["migrant_worker"]
"#;

/// Loads `policies/xiqing.toml` = header + `body` beside the shipped parameters;
/// returns the error text (panics if it loads).
fn refused(body: &str) -> String {
    let text = format!("{HEADER}{body}");
    let files = [("policies/parameters.toml", shipped("policies/parameters.toml")), ("policies/xiqing.toml", &text)];
    match Catalogue::from_texts(files) {
        Ok(_) => panic!("loaded:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_fixture_itself_loads() {
    let text = format!("{HEADER}{RULE}");
    let files = [("policies/parameters.toml", shipped("policies/parameters.toml")), ("policies/xiqing.toml", &text)];
    assert!(Catalogue::from_texts(files).is_ok());
}

#[test]
fn zero_amount() {
    let e = refused(&RULE.replace("fen = 100000", "fen = 0"));
    assert_eq!(e, "policies/xiqing.toml: rule \"xiqing.hiring.x\": field amount.fen: must be > 0");
}

#[test]
fn unknown_group_name() {
    let e = refused(&RULE.replace("migrant_worker", "migrant"));
    assert!(
        e.starts_with(
            "policies/xiqing.toml: rule \"xiqing.hiring.x\": field eligible.groups_any: unknown variant `migrant`"
        ),
        "{e}"
    );
    // the line of `groups_any = ["migrant"]` in the file
    let line = format!("{HEADER}{RULE}").lines().position(|l| l.starts_with("groups_any")).unwrap() + 1;
    assert!(e.ends_with(&format!("(line {line})")), "{e}");
}

#[test]
fn unknown_key() {
    let e = refused(&RULE.replace("title = \"test rule\"", "title = \"test rule\"\ntitel = \"typo\""));
    assert!(e.starts_with("policies/xiqing.toml: rule \"xiqing.hiring.x\": field titel: unknown field `titel`"), "{e}");
}

#[test]
fn unknown_key_in_a_nested_table() {
    let e = refused(&format!("{RULE}min_contract_month = 12\n"));
    assert!(
        e.starts_with(
            "policies/xiqing.toml: rule \"xiqing.hiring.x\": field eligible.min_contract_month: unknown field"
        ),
        "{e}"
    );
}

#[test]
fn not_a_date() {
    let e = refused(&RULE.replace("valid_from = 2020-05-18", "valid_from = \"18 May 2020\""));
    assert!(e.starts_with("policies/xiqing.toml: rule \"xiqing.hiring.x\": field valid_from:"), "{e}");
}

#[test]
fn inverted_period() {
    let e = refused(&RULE.replace("valid_from = 2020-05-18", "valid_from = 2020-05-18\nvalid_to = 2020-05-17"));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field valid_to: inverted period: 2020-05-17 is before valid_from 2020-05-18"
    );
}

#[test]
fn overlapping_versions_of_one_rule() {
    let v1 = RULE.replace("valid_from = 2020-05-18", "valid_from = 2020-05-18\nvalid_to = 2022-12-31");
    let v2 = RULE.replace("valid_from = 2020-05-18", "valid_from = 2022-06-01");
    let e = refused(&format!("{v1}{v2}"));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field valid_from: effective period overlaps the version valid from 2020-05-18 in policies/xiqing.toml"
    );
    // consecutive versions are fine
    let v2 = RULE.replace("valid_from = 2020-05-18", "valid_from = 2023-01-01");
    let text = format!("{HEADER}{v1}{v2}");
    let files = [("policies/parameters.toml", shipped("policies/parameters.toml")), ("policies/xiqing.toml", &text)];
    assert!(Catalogue::from_texts(files).is_ok());
}

#[test]
fn duplicate_id() {
    let e = refused(&format!("{RULE}{RULE}"));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field id: duplicate id: already defined in policies/xiqing.toml"
    );
}

#[test]
fn unknown_parameter() {
    let body = RULE.replace(
        "amount = { kind = \"fixed\", fen = 100000 }",
        "amount = { kind = \"per_month_share_of_parameter\", parameter = \"minimum_wage\", share = \"80%\" }",
    );
    let e = refused(&body);
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field amount.parameter: unknown parameter \"minimum_wage\""
    );
}

#[test]
fn parameter_without_a_value_while_the_rule_is_in_force() {
    let body = RULE
        .replace(
            "amount = { kind = \"fixed\", fen = 100000 }",
            "amount = { kind = \"per_month_share_of_parameter\", parameter = \"minimum_wage_monthly\", share = \"80%\" }",
        )
        .replace("valid_from = 2020-05-18", "valid_from = 2010-01-01");
    let e = refused(&body);
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field amount.parameter: parameter \"minimum_wage_monthly\" has no value on 2010-01-01, while the rule is in force"
    );
}

#[test]
fn clause_citing_an_undeclared_document() {
    let e = refused(&RULE.replace("source = \"000 § 9\"", "source = \"009 § 9\""));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field source: cites document \"009\", which no [[document]] declares"
    );
}

#[test]
fn id_outside_its_jurisdiction() {
    let e = refused(&RULE.replace("id = \"xiqing.hiring.x\"", "id = \"heping.hiring.x\""));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"heping.hiring.x\": field id: must start with the jurisdiction key \"xiqing.\""
    );
}

#[test]
fn programme_not_a_slug() {
    let e = refused(&RULE.replace("programme = \"xiqing-hiring-x\"", "programme = \"Xiqing Hiring\""));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field programme: may hold only lowercase ASCII letters, digits and -"
    );
}

#[test]
fn unknown_programme_reference() {
    let e = refused(
        &RULE.replace("limits = { one_time = true }", "limits = { one_time = true, excludes = [\"nothing\"] }"),
    );
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field limits.excludes: unknown programme \"nothing\""
    );
}

#[test]
fn wording_for_a_key_that_is_not_a_condition() {
    let e = refused(&format!("{RULE}\n[rule.wording]\nmin_contract = \"1年以上\"\n"));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field wording.min_contract: is not a condition, limit or amount key"
    );
}

#[test]
fn verify_without_a_note() {
    let e = refused(&RULE.replace("limits = { one_time = true }", "limits = { one_time = true }\nverify = true"));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field note: a rule marked verify = true must say in a note what to confirm"
    );
}

#[test]
fn an_empty_alternative() {
    let e = refused(&format!("{RULE}\n[[rule.eligible.any_of]]\n"));
    assert_eq!(
        e,
        "policies/xiqing.toml: rule \"xiqing.hiring.x\": field eligible.any_of[0]: an alternative must state at least one condition"
    );
}

#[test]
fn several_problems_are_all_listed() {
    let e = refused(&RULE.replace("fen = 100000", "fen = -5").replace("source = \"000 § 9\"", "source = \"\""));
    assert_eq!(e.lines().count(), 2, "{e}");
    assert!(e.contains("field amount.fen: must be > 0"));
    assert!(e.contains("field source: is required"));
}

#[test]
fn overlapping_parameter_values() {
    let params = shipped("policies/parameters.toml").replace(
        "value = 218000\nvalid_from = 2021-07-01",
        "value = 218000\nvalid_from = 2021-07-01\nvalid_to = 2025-01-01",
    );
    let text = format!("{HEADER}{RULE}");
    let e = Catalogue::from_texts([("policies/parameters.toml", params.as_str()), ("policies/xiqing.toml", &text)])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "policies/parameters.toml: parameter \"minimum_wage_monthly\": field values[1].valid_to: overlaps the next value, valid from 2024-12-01"
    );
}

#[test]
fn a_broken_file_in_a_directory_is_named_by_its_path() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in SHIPPED_FILES {
        let file = name.trim_start_matches("policies/");
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    std::fs::write(dir.path().join("README.md"), "not toml, ignored").unwrap();
    assert_eq!(Catalogue::load_dir(dir.path()).unwrap().rules().len(), Catalogue::shipped().unwrap().rules().len());
    let heping = shipped("policies/heping.toml").replacen("fen = 100000", "fen = 0", 1);
    std::fs::write(dir.path().join("heping.toml"), heping).unwrap();
    let e = Catalogue::load(Some(dir.path())).unwrap_err().to_string();
    let path = dir.path().join("heping.toml").display().to_string();
    assert_eq!(e, format!("{path}: rule \"heping.upskilling.degree\": field amount.fen: must be > 0"));
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let e = Catalogue::load_dir("/nonexistent/policies").unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/policies: cannot read"), "{e}");
}

use leye_policy::Catalogue;

#[test]
fn shipped_catalogue_loads() {
    match Catalogue::shipped() {
        Ok(c) => assert!(c.rules().len() > 50),
        Err(e) => panic!("{e}"),
    }
}

//! Names for the definitions' unit tests: case ids by number, every place
//! one community.

use crate::facts::{CaseNo, Names, PlaceNo};

/// By [`CaseNo`]: the case id.
pub(crate) struct Ids(pub Vec<String>);

impl Names for Ids {
    fn case_id(&self, case: CaseNo) -> &str {
        &self.0[case as usize]
    }

    fn community(&self, _: PlaceNo) -> &str {
        "120111001001"
    }
}

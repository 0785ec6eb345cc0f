//! Every command RPC answers with its own `<Rpc>Response` message holding the
//! shared [`CommandResult`] (one request and one response message per RPC, as
//! `buf lint` wants). [`CommandReply`] lets the shared command path build any
//! of them, so a handler names its response type and nothing more, and lets
//! clients (benchmarks, tests) read the result back from any of them.

use leye_proto::{common::v1::CommandResult, enterprise::v1 as enterprise, person::v1 as person};

/// A command's response message: the [`CommandResult`] in its `result` field.
pub trait CommandReply {
    fn of(result: CommandResult) -> Self;
    /// The result; `None` only from a server that did not set it.
    fn into_result(self) -> Option<CommandResult>;
}

macro_rules! command_replies {
    ($($response:ty),* $(,)?) => {$(
        impl CommandReply for $response {
            fn of(result: CommandResult) -> Self {
                Self { result: Some(result) }
            }
            fn into_result(self) -> Option<CommandResult> {
                self.result
            }
        }
    )*};
}

command_replies!(
    person::RegisterUnemploymentResponse,
    person::RecogniseDifficultyResponse,
    person::RecordContactResponse,
    person::RecommendJobResponse,
    person::EnrolTrainingResponse,
    person::CompleteTrainingResponse,
    person::DropTrainingResponse,
    person::RecordPlacementResponse,
    person::EndPlacementResponse,
    person::RejectSubsidyProposalResponse,
    person::RevokeSubsidyResponse,
    person::StartBenefitResponse,
    person::EndBenefitResponse,
    person::ExitRegistrationResponse,
    person::JoinHouseholdResponse,
    person::LeaveHouseholdResponse,
    person::ErasePersonalDataResponse,
    enterprise::RegisterEnterpriseResponse,
    enterprise::ReportHeadcountResponse,
    enterprise::RecordHireResponse,
    enterprise::ReportBatchLayoffResponse,
    enterprise::RecordLayoffServiceResponse,
    enterprise::OfferInternshipPostsResponse,
    enterprise::DevelopWelfarePostsResponse,
    enterprise::RecordGuaranteeLoanResponse,
    enterprise::FileLayoffPlanResponse,
    enterprise::DesignateKeyEnterpriseResponse,
    enterprise::ReportLabourShortageResponse,
    enterprise::RejectSubsidyProposalResponse,
    enterprise::RevokeSubsidyResponse,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_travels_in_the_result_field() {
        let result = CommandResult {
            case_id: "c".into(),
            revision: 3,
            event_ids: vec!["e".into()],
            duplicate: true,
            global_position: 9,
        };
        let reply = person::RecordContactResponse::of(result.clone());
        assert_eq!(reply.result, Some(result.clone()));
        assert_eq!(enterprise::RecordHireResponse::of(result.clone()).into_result(), Some(result));
    }
}

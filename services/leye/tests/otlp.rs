//! Request spans over OTLP: `leye serve --otlp-endpoint` against a real
//! OTLP/gRPC receiver (the collector's trace service, generated from the
//! OpenTelemetry protos), as a collector or Jaeger would receive them.

mod support;

use std::time::Duration;

use leye_proto::{common::v1::CommandContext, person::v1 as pb};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::{AnyValue, any_value::Value},
    trace::v1::Span,
};
use support::{Leye, free_port, resident_id};
use tokio::sync::mpsc;

/// Every export request the receiver got.
struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

fn text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).map(|a| text(&a.value))
}

#[tokio::test]
async fn every_request_is_a_span_at_the_collector_child_of_the_callers_trace_and_free_of_personal_data() {
    let port = free_port();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(tx)))
            .serve_with_incoming(incoming),
    );
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut leye = Leye::start(dir.path(), None, &["--otlp-endpoint", &endpoint]).await;
    let mut client = leye.client().await;

    // A case's life, then its registration again from a caller in a trace
    // of its own (W3C trace context): refused.
    let sent = support::run_case(&mut client, 1).await;
    let Some(pb::person_event::Event::Registered(registration)) = sent[0].event.event.clone() else {
        panic!("the first event registers")
    };
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(pb::RegisterUnemploymentRequest {
        context: Some(CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        }),
        effective_date: sent[0].effective_date.clone(),
        // The published fact withholds the resident ID and name: given again.
        registration: Some(pb::Registration {
            resident_id: resident_id(1),
            name: support::NAME.into(),
            personal_data: 0,
            ..registration
        }),
    });
    request.metadata_mut().insert("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01").parse().unwrap());
    let again = client.register_unemployment(request).await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);

    let register = "leye.person.v1.PersonCaseService/RegisterUnemployment";
    let mut spans: Vec<(Span, Vec<String>)> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while spans.iter().filter(|(s, _)| s.name == register).count() < 2 {
        let export = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no two spans named {register} within 20 s; got {spans:?}\n{}", leye.log_text()))
            .expect("receiver running");
        for resource in export.resource_spans {
            let attrs = resource.resource.map(|r| r.attributes).unwrap_or_default();
            let service: Vec<String> =
                attrs.iter().filter(|a| a.key == "service.name").map(|a| text(&a.value)).collect();
            for scope in resource.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (s, service.clone())));
            }
        }
    }
    let ours: Vec<&Span> = spans.iter().filter(|(s, _)| s.name == register).map(|(s, _)| s).collect();
    assert!(spans.iter().all(|(_, service)| service == &["leye".to_string()]), "service.name is leye");
    let first = ours.iter().find(|s| attribute(s, "rpc.grpc.status_code").as_deref() == Some("0")).expect("OK span");
    let second = ours.iter().find(|s| hex(&s.trace_id) == trace_id).expect("a span in the caller's trace");
    assert_eq!(hex(&second.parent_span_id), "00f067aa0ba902b7", "a child of the caller's span");
    assert!(first.parent_span_id.is_empty(), "a request without traceparent starts its own trace");
    assert_eq!(first.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(attribute(first, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(attribute(first, "rpc.service").as_deref(), Some("leye.person.v1.PersonCaseService"));
    assert_eq!(attribute(first, "rpc.method").as_deref(), Some("RegisterUnemployment"));
    assert_eq!(attribute(first, "rpc.grpc.status_code").as_deref(), Some("0"));
    assert_eq!(attribute(second, "rpc.grpc.status_code").as_deref(), Some("9"), "FAILED_PRECONDITION");
    assert!(second.end_time_unix_nano >= second.start_time_unix_nano);
    // Nothing personal, no case id, no principal in what leaves for the collector.
    let everything = format!("{spans:?}");
    for secret in [resident_id(1), sent[0].case_id.clone(), support::NAME.to_string()] {
        assert!(!everything.contains(&secret), "{secret} in the exported spans");
    }
    leye.terminate().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

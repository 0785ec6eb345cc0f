//! `leye consume`: a small JetStream subscriber, as an example for other
//! systems and a tool for operators.
//!
//! It creates (or reuses) a durable pull consumer on the stream, decodes each
//! message's protobuf payload (`leye.person.v1.PersonEvent` or
//! `leye.enterprise.v1.EnterpriseEvent`, as the `Leye-Payload-Type` header
//! says) and prints one
//! line per event: stream sequence, event id, type, case, revision, global
//! position, effective date, subject, and the fact. Each message is
//! acknowledged after it is printed; a restart with the same `--durable`
//! name continues where the last run stopped.
//!
//! The fact is printed masked: the resident ID and name of a registration, the
//! free text of a contact note or a rejection reason, and an enterprise's name
//! (a sole proprietorship's name can be a person's) are replaced by
//! `<redacted>`, because this
//! output lands in terminals and logs. A real subscriber receives them in the
//! payload (see the README, "Consuming events").
//!
//! A subscriber de-duplicates by event id (`Leye-Event-Id`) as a last line of
//! defence; this one prints what it receives.

use std::{io::Write, time::Duration};

use anyhow::Context;
use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, DeliverPolicy, pull},
};
use futures::StreamExt;
use leye_proto::{
    enterprise::v1::{self as epb, enterprise_event::Event as EnterpriseFact},
    person::v1::{self as pb, person_event::Event},
};
use prost::Message;

use crate::publisher::{
    NatsUrl,
    message::{ENTERPRISE_PAYLOAD_TYPE, headers},
};

/// What to consume.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsumeArgs {
    /// NATS server URL(s), comma-separated.
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_URL")]
    pub nats_url: NatsUrl,
    /// Name of the durable consumer: the server remembers how far it got.
    #[arg(long)]
    pub durable: String,
    /// Which events: a subject filter, e.g. `leye.v1.person.120111.>` or
    /// `leye.v1.person.*.placed`.
    #[arg(long, default_value = "leye.v1.person.>")]
    pub subject: String,
    /// The JetStream stream leye publishes to.
    #[arg(long, hide_env_values = true, env = "LEYE_NATS_STREAM", default_value = crate::config::DEFAULT_STREAM)]
    pub stream: String,
    /// Stop after this many events (default: run until interrupted).
    #[arg(long)]
    pub max_events: Option<u64>,
}

/// Messages pulled at most at a time when no `--max-events` bounds them.
const PULL_BATCH: usize = 100;
/// How long one pull waits on the server for messages before pulling again.
const PULL_EXPIRES: Duration = Duration::from_secs(5);

/// Consumes until `max_events` or Ctrl-C, printing to `out`.
pub async fn run(args: ConsumeArgs, out: &mut (impl Write + Send)) -> anyhow::Result<u64> {
    let client = async_nats::ConnectOptions::new()
        .name("leye-consume")
        .connection_timeout(Duration::from_secs(5))
        .connect(args.nats_url.addrs())
        .await
        .map_err(|e| anyhow::anyhow!("connecting to NATS at {}: {}", args.nats_url, e.kind()))?;
    let js = jetstream::new(client);
    let stream = js
        .get_stream(&args.stream)
        .await
        .with_context(|| format!("stream {} (does `leye serve --nats-url …` run?)", args.stream))?;
    let consumer = stream
        .get_or_create_consumer(
            &args.durable,
            pull::Config {
                durable_name: Some(args.durable.clone()),
                description: Some("leye consume".into()),
                filter_subject: args.subject.clone(),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("durable consumer {}", args.durable))?;
    // An existing durable keeps the subject it was made with: asking it for
    // another would print events the caller did not ask for.
    let follows = &consumer.cached_info().config.filter_subject;
    anyhow::ensure!(
        follows == &args.subject,
        "durable consumer {} follows {follows}, not {}: give another --durable for that subject (or remove this one \
         with `nats consumer rm {} {}`)",
        args.durable,
        args.subject,
        args.stream,
        args.durable
    );
    let mut seen = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Batches of at most what is left to print: a run that stops at
    // --max-events has pulled nothing it does not acknowledge, so the next
    // run with the same durable continues at once with the next event (a
    // message pulled and left would come back only after ack_wait, behind
    // newer ones).
    'batches: loop {
        let want = args.max_events.map_or(PULL_BATCH, |max| max.saturating_sub(seen).min(PULL_BATCH as u64) as usize);
        if want == 0 {
            break;
        }
        let mut messages = consumer
            .batch()
            .max_messages(want)
            .expires(PULL_EXPIRES)
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("pulling messages: {e}"))?;
        loop {
            let next = tokio::select! {
                _ = &mut ctrl_c => break 'batches,
                next = messages.next() => next,
            };
            let Some(message) = next else { continue 'batches };
            let message = message.map_err(|e| anyhow::anyhow!("receiving: {e}"))?;
            let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
            let header = |name: &str| {
                message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_string()).unwrap_or_default()
            };
            let payload = message.payload.as_ref();
            let fact = match header(headers::PAYLOAD_TYPE).as_str() {
                ENTERPRISE_PAYLOAD_TYPE => epb::EnterpriseEvent::decode(payload).map(masked_enterprise),
                _ => pb::PersonEvent::decode(payload).map(masked),
            };
            match fact {
                Ok(fact) => {
                    writeln!(
                        out,
                        "seq={sequence} event={} type={} case={} revision={} position={} effective={} subject={} fact={}",
                        header(headers::EVENT_ID),
                        header(headers::EVENT_TYPE),
                        header(headers::CASE_ID),
                        header(headers::REVISION),
                        header(headers::GLOBAL_POSITION),
                        header(headers::EFFECTIVE_DATE),
                        message.subject,
                        fact,
                    )?;
                    message.ack().await.map_err(|e| anyhow::anyhow!("acknowledging: {e}"))?;
                }
                Err(_) => {
                    writeln!(out, "seq={sequence} event={} undecodable payload: skipped", header(headers::EVENT_ID))?;
                    message.ack_with(AckKind::Term).await.map_err(|e| anyhow::anyhow!("terminating: {e}"))?;
                }
            }
            out.flush()?;
            seen += 1;
        }
    }
    Ok(seen)
}

/// The fact for printing: personal data and free notes replaced.
pub fn masked(event: pb::PersonEvent) -> String {
    match event.event {
        None => "unknown (a newer event type; update leye-proto)".into(),
        // `Registration`'s Debug already redacts resident ID and name.
        Some(Event::Contacted(mut c)) => {
            if !c.note.is_empty() {
                c.note = "<redacted>".into();
            }
            format!("{:?}", Event::Contacted(c))
        }
        Some(Event::SubsidyProposalRejected(mut r)) => {
            r.reason = "<redacted>".into();
            format!("{:?}", Event::SubsidyProposalRejected(r))
        }
        Some(e) => format!("{e:?}"),
    }
}

/// An enterprise fact for printing: the name and free reasons replaced.
pub fn masked_enterprise(event: epb::EnterpriseEvent) -> String {
    match event.event {
        None => "unknown (a newer event type; update leye-proto)".into(),
        Some(EnterpriseFact::Registered(mut r)) => {
            r.name = "<redacted>".into();
            format!("{:?}", EnterpriseFact::Registered(r))
        }
        Some(EnterpriseFact::SubsidyProposalRejected(mut r)) => {
            r.reason = "<redacted>".into();
            format!("{:?}", EnterpriseFact::SubsidyProposalRejected(r))
        }
        Some(e) => format!("{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_facts_hide_personal_data() {
        let reg = pb::PersonEvent {
            event: Some(Event::Registered(pb::Registration {
                resident_id: "120111198307040057".into(),
                name: "王测试".into(),
                ..Default::default()
            })),
        };
        let shown = masked(reg);
        assert!(shown.starts_with("Registered(") && !shown.contains("120111198307040057") && !shown.contains("王测试"));
        let contact = pb::PersonEvent {
            event: Some(Event::Contacted(pb::Contact { note: "电话 13800000000".into(), ..Default::default() })),
        };
        assert!(!masked(contact).contains("13800000000"));
        assert!(masked(pb::PersonEvent { event: None }).contains("unknown"));
        let firm = epb::EnterpriseEvent {
            event: Some(EnterpriseFact::Registered(epb::EnterpriseRegistration {
                name: "王测试个体工商户".into(),
                district: "120111".into(),
                ..Default::default()
            })),
            layoff_response: 0,
        };
        let shown = masked_enterprise(firm);
        assert!(shown.starts_with("Registered(") && shown.contains("120111") && !shown.contains("王测试"));
    }
}

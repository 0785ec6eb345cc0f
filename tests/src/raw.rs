//! A client that sends any request as bytes: the access matrix walks every
//! RPC of the table through it, and the hostile-client tests send bodies no
//! generated type would (invalid UTF-8, truncated messages).

use prost::bytes::{Buf as _, BufMut as _};
use tonic::{
    Status,
    client::Grpc,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
};

/// Writes the request bytes as they are; reads and drops the answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

#[derive(Debug)]
pub struct RawEncoder;

#[derive(Debug)]
pub struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        let n = src.remaining();
        src.advance(n);
        Ok(Some(()))
    }
}

/// Calls `/operation` with `body` (an encoded request message).
pub async fn call<T>(grpc: &mut Grpc<T>, operation: &str, body: Vec<u8>) -> Result<(), Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    grpc.ready().await.map_err(|e| Status::unavailable(format!("channel not ready: {}", e.into())))?;
    let path = PathAndQuery::try_from(format!("/{operation}")).expect("a gRPC path");
    grpc.unary(tonic::Request::new(body), path, RawCodec).await.map(|_| ())
}

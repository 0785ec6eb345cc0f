//! The codec of every leye service: protobuf by `prost`, as `tonic-prost`'s,
//! except that a message that does not decode is `INVALID_ARGUMENT` naming the
//! field prost stopped at (the sender's fault), not `INTERNAL`. The text never
//! holds the bytes received.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstCodec;

/// See the module docs.
#[derive(Debug, Clone, Copy)]
pub struct LeyeCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for LeyeCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for LeyeCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = LeyeDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        LeyeDecoder(PhantomData)
    }
}

/// Decodes `U`; a malformed message is `INVALID_ARGUMENT`.
#[derive(Debug, Clone, Copy)]
pub struct LeyeDecoder<U>(PhantomData<U>);

impl<U: Message + Default> Decoder for LeyeDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("request: not a valid protobuf message of this RPC: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

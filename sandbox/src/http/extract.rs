//! What the REST routes read from a request, as axum extractors: the body the middleware read
//! once (JSON, or `payload_json` and files when the bot uploads), typed per route; the IDs in
//! the path; and the host the bot reached the sandbox by, for the URLs the sandbox hands out.

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Multipart, Request},
    http::{header, request::Parts, HeaderMap},
};
use serde::{de::DeserializeOwned, Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::{
    model::{error::ApiError, message::Attachment},
    server::Server,
    world::{state::Upload, World},
};

/// A REST call's body, read once by the middleware (which records its JSON) and handed to the
/// route.
#[derive(Debug, Clone, Default)]
pub struct RestBody {
    /// The JSON body, or `payload_json` of a multipart upload; `Null` when there was none.
    pub json: Value,
    /// The uploaded files, in the order of their parts.
    pub uploads: Vec<Upload>,
}

impl RestBody {
    /// Reads `body` as its content type says: multipart (an upload) or JSON. A body that is
    /// not JSON is kept as `{"unparsed": text}`, for the record.
    pub async fn read(headers: &HeaderMap, body: Bytes) -> Result<Self, ApiError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("multipart/form-data") {
            let json = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| json!({ "unparsed": String::from_utf8_lossy(&body) }))
            };
            return Ok(Self {
                json,
                uploads: Vec::new(),
            });
        }
        let bad = |err: &dyn std::fmt::Display| ApiError::UnreadableBody(err.to_string());
        let request = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .map_err(|err| bad(&err))?;
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|err| bad(&err))?;
        let mut read = Self::default();
        while let Some(field) = multipart.next_field().await.map_err(|err| bad(&err))? {
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let bytes = field.bytes().await.map_err(|err| bad(&err))?;
            if name == "payload_json" {
                read.json = serde_json::from_slice(&bytes).map_err(|err| bad(&err))?;
            } else if let Some(filename) = filename {
                read.uploads.push(Upload {
                    filename,
                    content_type,
                    bytes,
                });
            }
        }
        Ok(read)
    }
}

fn rest_body(parts: &Parts) -> RestBody {
    // Every REST route sits behind the middleware, which puts it there.
    parts
        .extensions
        .get::<RestBody>()
        .cloned()
        .unwrap_or_default()
}

/// The body typed as the route expects it; no body reads as the type's default. A body that
/// does not fit is Discord's 400 50035.
#[derive(Debug, Clone)]
pub struct Payload<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequestParts<S> for Payload<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let json = rest_body(parts).json;
        if json.is_null() {
            return Ok(Self(T::default()));
        }
        serde_json::from_value(json)
            .map(Self)
            .map_err(|err| ApiError::UnreadableBody(err.to_string()))
    }
}

/// A body that may come with files (a message, an interaction's answer): the body typed as
/// [`Payload`] reads it, the files, and the host their URLs will name.
#[derive(Debug, Clone)]
pub struct WithFiles<T> {
    host: String,
    body: T,
    uploads: Vec<Upload>,
}

impl<T: DeserializeOwned + Default> FromRequestParts<Server> for WithFiles<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, server: &Server) -> Result<Self, ApiError> {
        let Payload(body) = Payload::from_request_parts(parts, server).await?;
        Ok(Self {
            host: Host::of(&parts.headers, server).0,
            body,
            uploads: rest_body(parts).uploads,
        })
    }
}

impl<T> WithFiles<T> {
    /// Keeps the files in `world` (served at their attachment URLs) and returns the body with
    /// their attachment objects.
    pub fn store(self, world: &mut World) -> (T, Vec<Attachment>) {
        let attachments = world.store_files(&self.host, self.uploads);
        (self.body, attachments)
    }
}

/// The host the bot reached the sandbox by (`Host` header, or the address it listens on).
#[derive(Debug, Clone)]
pub struct Host(pub String);

impl Host {
    /// The host of a request with `headers` to `server`.
    pub fn of(headers: &HeaderMap, server: &Server) -> Self {
        Self(
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map_or_else(|| server.addr().to_string(), str::to_owned),
        )
    }
}

impl FromRequestParts<Server> for Host {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Server,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers, server))
    }
}

/// An ID in a path. One that is not a number names nothing, so the route answers "Unknown
/// Channel" (or message, role...) as Discord does, rather than a 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub u64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self(text.parse().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_is_read_and_anything_else_is_kept_for_the_record() {
        let json = RestBody::read(&HeaderMap::new(), Bytes::from_static(b"{\"a\":1}"))
            .await
            .unwrap();
        assert_eq!(json.json, json!({ "a": 1 }));
        let text = RestBody::read(&HeaderMap::new(), Bytes::from_static(b"hello"))
            .await
            .unwrap();
        assert_eq!(text.json, json!({ "unparsed": "hello" }));
        let empty = RestBody::read(&HeaderMap::new(), Bytes::new())
            .await
            .unwrap();
        assert!(empty.json.is_null());
    }

    #[tokio::test]
    async fn an_upload_gives_its_payload_json_and_files_in_order() {
        let body = "--X\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"t\"}\r\n\
                    --X\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nabc\r\n\
                    --X\r\nContent-Disposition: form-data; name=\"files[1]\"; filename=\"b.bin\"\r\n\r\n\x01\r\n--X--\r\n";
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=X".parse().unwrap(),
        );
        let read = RestBody::read(&headers, Bytes::from(body)).await.unwrap();
        assert_eq!(read.json, json!({ "content": "t" }));
        let files: Vec<(&str, &str, &[u8])> = read
            .uploads
            .iter()
            .map(|u| {
                (
                    u.filename.as_str(),
                    u.content_type.as_str(),
                    u.bytes.as_ref(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("a.txt", "text/plain", &b"abc"[..]),
                ("b.bin", "application/octet-stream", &b"\x01"[..])
            ]
        );
        let broken = RestBody::read(&headers, Bytes::from_static(b"--X\r\nnonsense")).await;
        assert!(matches!(broken, Err(ApiError::UnreadableBody(_))));
    }

    #[test]
    fn an_id_that_is_not_a_number_names_nothing() {
        let id: Id = serde_json::from_value(json!("12")).unwrap();
        assert_eq!(id, Id(12));
        let id: Id = serde_json::from_value(json!("@me")).unwrap();
        assert_eq!(id, Id(0));
    }
}

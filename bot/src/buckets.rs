//! Opening the JetStream buckets the bot keeps (the registry's key-value buckets, the relay's
//! claims, the transcripts' object store): each is opened when it exists and created when it
//! does not, so a fresh NATS server needs no preparation. The subjects these calls use are the
//! ones `nats/least-privilege.conf` grants the bot user.

use async_nats::jetstream::{self, kv, object_store};

/// Why a bucket could not be opened or created (the message names the bucket).
#[derive(Debug, thiserror::Error)]
#[error("JetStream bucket {bucket}: {message}")]
pub struct BucketError {
    /// The bucket.
    pub bucket: String,
    /// What went wrong.
    pub message: String,
}

impl BucketError {
    fn new(bucket: &str, err: impl std::fmt::Display) -> Self {
        Self {
            bucket: bucket.to_owned(),
            message: err.to_string(),
        }
    }
}

/// The key-value bucket `config.bucket`, created with `config` when missing.
pub async fn key_value(
    js: &jetstream::Context,
    config: kv::Config,
) -> Result<kv::Store, BucketError> {
    let name = config.bucket.clone();
    if let Ok(store) = js.get_key_value(&name).await {
        return Ok(store);
    }
    match js.create_key_value(config).await {
        Ok(store) => {
            tracing::info!(bucket = name, "created the JetStream key-value bucket");
            Ok(store)
        }
        // Another process may have created it meanwhile.
        Err(create) => js
            .get_key_value(&name)
            .await
            .map_err(|_| BucketError::new(&name, create)),
    }
}

/// The object store `config.bucket`, created with `config` when missing.
pub async fn object_store(
    js: &jetstream::Context,
    config: object_store::Config,
) -> Result<object_store::ObjectStore, BucketError> {
    let name = config.bucket.clone();
    if let Ok(store) = js.get_object_store(&name).await {
        return Ok(store);
    }
    match js.create_object_store(config).await {
        Ok(store) => {
            tracing::info!(bucket = name, "created the JetStream object store");
            Ok(store)
        }
        Err(create) => js
            .get_object_store(&name)
            .await
            .map_err(|_| BucketError::new(&name, create)),
    }
}

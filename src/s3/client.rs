//! The S3 calls ecaudit makes, synchronous, on a runtime of their own: GetObject, PutObject
//! (whole objects, with the server-side encryption asked), ListObjectsV2 (a history's runs) and
//! DeleteObjects (a history's pruned runs, and nothing else).

use std::io::Write;
use std::path::Path;

use aws_config::BehaviorVersion;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier, ServerSideEncryption};

use super::{Error, S3Url, Settings, Sse};

/// A client and the runtime its calls run on.
pub struct Store {
    client: aws_sdk_s3::Client,
    runtime: tokio::runtime::Runtime,
    sse: Sse,
}

/// An object directly under a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The key without the prefix.
    pub name: String,
    pub size: u64,
}

fn failed<E, R>(url: &S3Url, what: &'static str, e: &aws_sdk_s3::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let d = crate::collect::describe_error(e);
    Error {
        url: url.to_string(),
        what,
        message: format!("{}: {}", d.code, d.message),
    }
}

impl Store {
    pub(super) fn new(settings: &Settings) -> Result<Store, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let client = runtime.block_on(async {
            let mut loader = aws_config::defaults(BehaviorVersion::latest());
            if let Some(profile) = &settings.profile {
                loader = loader.profile_name(profile);
            }
            if let Some(url) = &settings.endpoint_url {
                loader = loader.endpoint_url(url);
            }
            let shared = loader.load().await;
            let mut config = aws_sdk_s3::config::Builder::from(&shared);
            if shared.region().is_none() {
                // S3 answers from any region for a bucket in us-east-1; set AWS_REGION for others.
                config = config.region(aws_sdk_s3::config::Region::from_static("us-east-1"));
            }
            // An emulator or a proxy takes buckets in the path, not as host names.
            if settings.endpoint_url.is_some() {
                config = config.force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(config.build())
        });
        Ok(Store {
            client,
            runtime,
            sse: settings.sse.clone(),
        })
    }

    /// Downloads the object `url` into `to` (a new file).
    pub fn download(&self, url: &S3Url, to: &Path) -> Result<(), Error> {
        self.runtime.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&url.bucket)
                .key(&url.key)
                .send()
                .await
                .map_err(|e| failed(url, "cannot read", &e))?;
            let io = |e: std::io::Error| Error {
                url: url.to_string(),
                what: "cannot keep a local copy",
                message: e.to_string(),
            };
            let mut file = std::io::BufWriter::new(std::fs::File::create(to).map_err(io)?);
            let mut body = out.body;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Error {
                    url: url.to_string(),
                    what: "cannot read",
                    message: crate::collect::display_chain(&e),
                })?;
                file.write_all(&chunk).map_err(io)?;
            }
            file.flush().map_err(io)
        })
    }

    /// Uploads the file `from` as the object `url`, whole: S3 shows the new object once it is
    /// all there, or keeps the previous one.
    pub fn upload(&self, from: &Path, url: &S3Url) -> Result<(), Error> {
        self.runtime.block_on(async {
            let body = ByteStream::from_path(from).await.map_err(|e| Error {
                url: url.to_string(),
                what: "cannot write",
                message: e.to_string(),
            })?;
            let mut put = self
                .client
                .put_object()
                .bucket(&url.bucket)
                .key(&url.key)
                .body(body);
            put = match &self.sse {
                Sse::Bucket => put,
                Sse::Aes256 => put.server_side_encryption(ServerSideEncryption::Aes256),
                Sse::Kms(key) => put
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .set_ssekms_key_id(key.clone()),
            };
            put.send().await.map_err(|e| failed(url, "cannot write", &e))?;
            Ok(())
        })
    }

    /// The objects directly under `prefix` (not those under a deeper `/`), every page.
    pub fn list(&self, prefix: &S3Url) -> Result<Vec<Listed>, Error> {
        self.runtime.block_on(async {
            let mut listed = Vec::new();
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&prefix.bucket)
                .prefix(&prefix.key)
                .delimiter("/")
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| failed(prefix, "cannot list", &e))?;
                for object in page.contents() {
                    let Some(name) = object.key().and_then(|k| k.strip_prefix(prefix.key.as_str())) else {
                        continue;
                    };
                    listed.push(Listed {
                        name: name.to_string(),
                        size: object.size().unwrap_or(0).max(0) as u64,
                    });
                }
            }
            Ok(listed)
        })
    }

    /// Deletes these objects under `prefix` (1,000 a call); an object S3 could not delete is an
    /// error naming it.
    pub fn delete(&self, prefix: &S3Url, names: &[String]) -> Result<(), Error> {
        self.runtime.block_on(async {
            for chunk in names.chunks(1000) {
                let objects = chunk
                    .iter()
                    .map(|name| ObjectIdentifier::builder().key(prefix.join(name).key).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error {
                        url: prefix.to_string(),
                        what: "cannot delete",
                        message: e.to_string(),
                    })?;
                let delete = Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .map_err(|e| Error {
                        url: prefix.to_string(),
                        what: "cannot delete",
                        message: e.to_string(),
                    })?;
                let out = self
                    .client
                    .delete_objects()
                    .bucket(&prefix.bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| failed(prefix, "cannot delete", &e))?;
                if let Some(e) = out.errors().first() {
                    return Err(Error {
                        url: format!("s3://{}/{}", prefix.bucket, e.key().unwrap_or_default()),
                        what: "cannot delete",
                        message: format!(
                            "{}: {}",
                            e.code().unwrap_or("Error"),
                            e.message().unwrap_or_default()
                        ),
                    });
                }
            }
            Ok(())
        })
    }
}

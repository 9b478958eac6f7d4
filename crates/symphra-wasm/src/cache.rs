//! Compiled components on disk, keyed by the component's content hash and the engine.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{HostError, LoadError};

/// The start of every entry: the format (version 2: a CRC-32 of the payload follows).
const MAGIC: &[u8; 8] = b"SYMWASM2";
/// The length of the checksum after [`MAGIC`].
const CHECKSUM_LEN: usize = 4;

/// A folder of compiled components.
///
/// An entry is named `<sha256 of the component>-<engine key>.cwasm`; the engine key hashes
/// the wasmtime version and [`Engine::precompile_compatibility_hash`], so a different
/// engine configuration never reads another's entry. Each entry starts with a CRC-32 of its
/// payload: a truncated or altered entry is detected, removed and rebuilt. (The checksum
/// guards against damage, not against someone who can write the cache folder: they could
/// write a matching checksum of any hash. CRC-32 is checked at memory speed, where a
/// SHA-256 of the compiled code cost a cached load as much as wasmtime's own work.)
#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

/// Where a component came from, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from the cache.
    Hit,
    /// Compiled and stored (no entry).
    Miss,
    /// Compiled and stored again because the entry was corrupt.
    Rebuilt,
}

impl CompileCache {
    /// Opens (creating if needed) a cache folder for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> Result<Self, HostError> {
        std::fs::create_dir_all(dir).map_err(|source| HostError::Cache {
            path: dir.to_owned(),
            source,
        })?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        "wasmtime-48.0.8".hash(&mut hasher);
        MAGIC.hash(&mut hasher);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: dir.to_owned(),
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file for component `bytes`.
    pub fn entry_path(&self, bytes: &[u8]) -> PathBuf {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(bytes);
        let mut name = String::with_capacity(64 + 1 + self.engine_key.len() + 6);
        for byte in digest {
            name.push(char::from(HEX[usize::from(byte >> 4)]));
            name.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        name.push('-');
        name.push_str(&self.engine_key);
        name.push_str(".cwasm");
        self.dir.join(name)
    }

    /// The component for `bytes`: from the entry when it is sound, else compiled with
    /// `compile` and stored.
    pub(crate) fn lookup(
        &self,
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
        compile: impl FnOnce(&[u8]) -> Result<Component, LoadError>,
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let entry = self.entry_path(bytes);
        let mut outcome = CacheOutcome::Miss;
        match std::fs::read(&entry) {
            Ok(data) => match verified_payload(&data) {
                Some(payload) => {
                    // SAFETY: `Component::deserialize` requires bytes produced by
                    // `Engine::precompile_component`/`Component::serialize` of a compatible
                    // engine. The entry's name includes the engine's compatibility hash, so
                    // only this engine configuration writes it, and its checksum was just
                    // verified, so these are the bytes `store` wrote. wasmtime also
                    // checks the header (version, flags) and returns an error otherwise.
                    #[allow(unsafe_code)]
                    let deserialized = unsafe { Component::deserialize(engine, payload) };
                    match deserialized {
                        Ok(component) => return Ok((component, CacheOutcome::Hit)),
                        Err(error) => {
                            tracing::warn!(entry = %entry.display(), error = %format!("{error:#}"), "cache entry rejected by wasmtime; rebuilding");
                            outcome = CacheOutcome::Rebuilt;
                        }
                    }
                }
                None => {
                    tracing::warn!(entry = %entry.display(), "corrupt cache entry (checksum mismatch); rebuilding");
                    outcome = CacheOutcome::Rebuilt;
                }
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(entry = %entry.display(), %error, "cannot read cache entry; compiling");
            }
        }
        if outcome == CacheOutcome::Rebuilt {
            let _ = std::fs::remove_file(&entry);
        }
        let component = compile(bytes)?;
        match component.serialize() {
            Ok(serialized) => {
                if let Err(error) = self.store(&entry, &serialized) {
                    tracing::warn!(entry = %entry.display(), %error, "cannot write cache entry");
                }
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "cannot serialize compiled component");
            }
        }
        Ok((component, outcome))
    }

    fn store(&self, entry: &Path, payload: &[u8]) -> std::io::Result<()> {
        let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
        {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(MAGIC)?;
            file.write_all(&crc32fast::hash(payload).to_le_bytes())?;
            file.write_all(payload)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, entry)
    }
}

fn verified_payload(data: &[u8]) -> Option<&[u8]> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    let (sum, payload) = rest.split_at_checked(CHECKSUM_LEN)?;
    (crc32fast::hash(payload).to_le_bytes() == sum).then_some(payload)
}

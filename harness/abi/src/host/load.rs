//! Opening a plugin library: fingerprint, ABI check first, manifest, every symbol up front, and
//! a process-lifetime cache, so no library is ever unloaded.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libloading::Library;
use securefl_api::PluginInfo;
use sha2::{Digest, Sha256};

use crate::symbols::{
    self as sym, AbiVersionFn, AggregateFn, CheckFn, FreeFn, KnowledgeFn, NewFn, PoisonDataFn,
    PoisonUpdateFn, StrFn, TriggerSetFn, VerdictsFn,
};
use crate::{ABI_MAJOR, ABI_MINOR, compatible, split_version};

/// Why a library could not be loaded as a plugin. Every message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file cannot be read.
    Read {
        /// The path as resolved.
        path: PathBuf,
        /// The IO error.
        message: String,
    },
    /// The dynamic loader refused it.
    Open {
        /// The library.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// It exports no `securefl_abi_version`.
    NotAPlugin {
        /// The library.
        path: PathBuf,
    },
    /// It was built for another ABI.
    AbiMismatch {
        /// The library.
        path: PathBuf,
        /// Its `(major, minor)`.
        found: (u16, u16),
    },
    /// Its manifest is missing or malformed, or names another kind.
    Manifest {
        /// The library.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A required symbol is missing.
    MissingSymbol {
        /// The library.
        path: PathBuf,
        /// The symbol.
        symbol: &'static str,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Open { path, message } => {
                write!(f, "{}: cannot open the library: {message}", path.display())
            }
            Self::NotAPlugin { path } => write!(
                f,
                "{}: not a securefl plugin (no `{}` symbol)",
                path.display(),
                sym::ABI_VERSION
            ),
            Self::AbiMismatch { path, found } => write!(
                f,
                "{}: plugin ABI {}.{} is incompatible with this securefl (ABI {ABI_MAJOR}.{ABI_MINOR}): rebuild the plugin against securefl-abi {ABI_MAJOR}.x",
                path.display(),
                found.0,
                found.1
            ),
            Self::Manifest { path, message } => {
                write!(f, "{}: bad manifest: {message}", path.display())
            }
            Self::MissingSymbol { path, symbol } => {
                write!(f, "{}: missing symbol `{symbol}`", path.display())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// The plugin kinds the ABI carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynKind {
    /// An attack.
    Attack,
    /// A defense.
    Defense,
}

impl DynKind {
    /// The name in manifests and configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Attack => "attack",
            Self::Defense => "defense",
        }
    }
}

/// What a plugin's manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `attack` or `defense`.
    pub kind: String,
    /// Name, version, summary, citation.
    pub info: PluginInfo,
}

/// The entry points every plugin exports.
#[derive(Clone, Copy)]
pub(crate) struct CommonFns {
    pub last_error: StrFn,
    pub new: NewFn,
    pub free: FreeFn,
}

/// The entry points of an attack.
#[derive(Clone, Copy)]
pub(crate) struct AttackFns {
    pub knowledge: KnowledgeFn,
    pub poison_data: PoisonDataFn,
    pub poison_update: PoisonUpdateFn,
    pub trigger_set: TriggerSetFn,
}

/// The entry points of a defense.
#[derive(Clone, Copy)]
pub(crate) struct DefenseFns {
    pub verdicts: VerdictsFn,
    pub check: CheckFn,
    pub aggregate: AggregateFn,
}

/// The kind-specific entry points.
#[derive(Clone, Copy)]
pub(crate) enum KindFns {
    Attack(AttackFns),
    Defense(DefenseFns),
}

/// A loaded, checked plugin library. It lives in the process-wide cache and is never unloaded,
/// so its function pointers stay valid for the life of the process.
pub struct LoadedLibrary {
    path: PathBuf,
    sha256: String,
    version: u32,
    manifest: Manifest,
    pub(crate) common: CommonFns,
    pub(crate) fns: KindFns,
    _lib: Library,
}

impl LoadedLibrary {
    /// The canonical path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sha256 of the file, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// `(major, minor)` of the plugin's ABI.
    pub fn abi(&self) -> (u16, u16) {
        split_version(self.version)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The last error message of this thread's last failed call.
    pub(crate) fn last_error(&self) -> String {
        // SAFETY: `last_error` returns null or a NUL-terminated string valid until the next call.
        unsafe { c_str((self.common.last_error)()) }.unwrap_or_else(|| "no message".to_owned())
    }
}

/// A copy of a C string; `None` for null or non-UTF-8.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string.
unsafe fn c_str(p: *const std::ffi::c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .ok()
        .map(str::to_owned)
}

static LOADED: Mutex<BTreeMap<PathBuf, Arc<LoadedLibrary>>> = Mutex::new(BTreeMap::new());

/// Loads the plugin library at `path` (already resolved against the config file) as a plugin of
/// `kind`, or returns the cached one.
pub fn load(path: &Path, kind: DynKind) -> Result<Arc<LoadedLibrary>, LoadError> {
    let canonical = path.canonicalize().map_err(|e| LoadError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut cache = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    let lib = match cache.get(&canonical) {
        Some(lib) => Arc::clone(lib),
        None => {
            let lib = Arc::new(open(&canonical)?);
            cache.insert(canonical.clone(), Arc::clone(&lib));
            lib
        }
    };
    if lib.manifest.kind != kind.name() {
        return Err(LoadError::Manifest {
            path: canonical,
            message: format!(
                "the library is a `{}` plugin, not a `{}` plugin",
                lib.manifest.kind,
                kind.name()
            ),
        });
    }
    Ok(lib)
}

/// What `securefl plugin check` reports: the ABI version, and the manifest when compatible.
pub fn inspect(path: &Path) -> Result<Arc<LoadedLibrary>, LoadError> {
    let canonical = path.canonicalize().map_err(|e| LoadError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut cache = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(lib) = cache.get(&canonical) {
        return Ok(Arc::clone(lib));
    }
    let lib = Arc::new(open(&canonical)?);
    cache.insert(canonical, Arc::clone(&lib));
    Ok(lib)
}

fn open(path: &Path) -> Result<LoadedLibrary, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let sha256 = hex(&Sha256::digest(&bytes));
    // SAFETY: loading runs the library's initialisers. The trust assumption is the user's: a
    // plugin named in a config is code the user chose to run, like the securefl binary itself.
    let lib = unsafe { Library::new(path) }.map_err(|e| LoadError::Open {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let version = read_version(&lib, path)?;
    if !compatible(version) {
        return Err(LoadError::AbiMismatch {
            path: path.to_owned(),
            found: split_version(version),
        });
    }
    let manifest = read_manifest(&lib, path)?;
    let common = CommonFns {
        last_error: symbol(&lib, path, sym::LAST_ERROR)?,
        new: symbol(&lib, path, sym::NEW)?,
        free: symbol(&lib, path, sym::FREE)?,
    };
    let fns = kind_fns(&lib, path, &manifest.kind)?;
    Ok(LoadedLibrary {
        path: path.to_owned(),
        sha256,
        version,
        manifest,
        common,
        fns,
        _lib: lib,
    })
}

fn read_version(lib: &Library, path: &Path) -> Result<u32, LoadError> {
    let f: AbiVersionFn =
        symbol(lib, path, sym::ABI_VERSION).map_err(|_| LoadError::NotAPlugin {
            path: path.to_owned(),
        })?;
    // SAFETY: the symbol has the ABI's signature `u32 (void)`, which every ABI major keeps.
    Ok(unsafe { f() })
}

fn kind_fns(lib: &Library, path: &Path, kind: &str) -> Result<KindFns, LoadError> {
    match kind {
        "attack" => Ok(KindFns::Attack(AttackFns {
            knowledge: symbol(lib, path, sym::ATTACK_KNOWLEDGE)?,
            poison_data: symbol(lib, path, sym::ATTACK_POISON_DATA)?,
            poison_update: symbol(lib, path, sym::ATTACK_POISON_UPDATE)?,
            trigger_set: symbol(lib, path, sym::ATTACK_TRIGGER_SET)?,
        })),
        "defense" => Ok(KindFns::Defense(DefenseFns {
            verdicts: symbol(lib, path, sym::DEFENSE_VERDICTS)?,
            check: symbol(lib, path, sym::DEFENSE_CHECK)?,
            aggregate: symbol(lib, path, sym::DEFENSE_AGGREGATE)?,
        })),
        other => Err(LoadError::Manifest {
            path: path.to_owned(),
            message: format!("unknown kind `{other}` (dynamic plugins are attacks or defenses)"),
        }),
    }
}

fn read_manifest(lib: &Library, path: &Path) -> Result<Manifest, LoadError> {
    let bad = |message: String| LoadError::Manifest {
        path: path.to_owned(),
        message,
    };
    let f: StrFn = symbol(lib, path, sym::MANIFEST)?;
    // SAFETY: ABI 1's `const char *(void)`, returning null or a static NUL-terminated string.
    let text = unsafe { c_str(f()) }.ok_or_else(|| bad("null or not UTF-8".into()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().into()))?;
    let field = |key: &str| match table.get(key) {
        Some(toml::Value::String(s)) => Ok(s.clone()),
        _ => Err(bad(format!("no string `{key}`"))),
    };
    let mut info = PluginInfo::new(&field("name")?, &field("version")?, &field("summary")?);
    info.citation = field("citation").ok();
    Ok(Manifest {
        kind: field("kind")?,
        info,
    })
}

/// Resolves `name` as a function pointer of type `T`.
fn symbol<T: Copy>(lib: &Library, path: &Path, name: &'static str) -> Result<T, LoadError> {
    // SAFETY: `T` is the C signature ABI 1 gives `name` (see `symbols`); the pointer is copied
    // out and stays valid because the library is never unloaded.
    unsafe { lib.get::<T>(name.as_bytes()) }
        .map(|s| *s)
        .map_err(|_| LoadError::MissingSymbol {
            path: path.to_owned(),
            symbol: name,
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

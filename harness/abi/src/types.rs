//! The `#[repr(C)]` types that cross the library boundary, and the status codes.
//!
//! Pointers in these structs borrow host memory for the duration of one call, except where a
//! field says otherwise. Lengths count elements, not bytes. `usize` is C's `size_t`.

use std::ffi::c_void;

/// The result of every fallible entry point.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The inputs or parameters cannot be used (`PluginError::Invalid`).
    Invalid = 1,
    /// The plugin does not implement this operation (`PluginError::Unsupported`).
    Unsupported = 2,
    /// The plugin tried and failed (`PluginError::Failed`).
    Failed = 3,
    /// The plugin panicked; the panic was caught at the boundary.
    Panicked = 4,
}

impl Status {
    /// The status for a raw code; unknown codes read as [`Status::Failed`].
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::Invalid,
            2 => Self::Unsupported,
            4 => Self::Panicked,
            _ => Self::Failed,
        }
    }
}

/// An opaque plugin instance, owned by the plugin and freed by its `securefl_plugin_free`.
pub type Handle = *mut c_void;

/// `securefl_api::ModelSpec`: `arch` 0 is the paper CNN, 1 the wide CNN.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SflSpec {
    /// The architecture code.
    pub arch: u32,
    /// Input channels.
    pub in_channels: usize,
    /// Output classes.
    pub classes: usize,
}

/// One hospital's update. `delta` is writable only in `securefl_attack_poison_update`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SflUpdate {
    /// Hospital index.
    pub hospital: usize,
    /// Training images behind the update (its FedAvg weight).
    pub samples: usize,
    /// The delta (local − global), `len` values in the flat PyTorch layout.
    pub delta: *mut f32,
    /// Its length.
    pub len: usize,
    /// Mean training loss of the last local epoch.
    pub train_loss: f32,
}

/// A labelled image set, image-major and channel-last (`securefl_api::ImageSet`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SflImages {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// `count * height * width * channels` pixels.
    pub pixels: *const u8,
    /// Number of pixels.
    pub pixels_len: usize,
    /// One label per image.
    pub labels: *const u8,
    /// Number of images.
    pub count: usize,
}

/// What a malicious hospital knows when it attacks (`securefl_api::AttackCtx`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SflAttackCtx {
    /// The round, from 1.
    pub round: usize,
    /// The attacking hospital.
    pub hospital: usize,
    /// Number of hospitals.
    pub hospitals: usize,
    /// Number of malicious hospitals.
    pub malicious: usize,
    /// The malicious hospitals, ascending.
    pub colluders: *const usize,
    /// Their number.
    pub colluders_len: usize,
    /// The round's global model.
    pub global: *const f32,
    /// Its length.
    pub global_len: usize,
    /// Training images of every hospital this round.
    pub samples: *const usize,
    /// Their number (the hospitals).
    pub samples_len: usize,
    /// The architecture.
    pub spec: SflSpec,
    /// Number of classes.
    pub classes: usize,
    /// This call's derived seed.
    pub seed: u64,
    /// The round's benign updates for an omniscient attack, else none.
    pub benign: *const SflUpdate,
    /// Their number.
    pub benign_len: usize,
}

/// The federation a defense works in (`securefl_api::Setting`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SflSetting {
    /// Hospitals submitting updates.
    pub hospitals: usize,
    /// Malicious hospitals the run configures.
    pub malicious: usize,
}

/// What a dynamic defense sees of a round: dynamic defenses read updates in the clear.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SflDefenseCtx {
    /// The round, from 1.
    pub round: usize,
    /// The round's global model.
    pub global: *const f32,
    /// Its length.
    pub global_len: usize,
    /// The architecture.
    pub spec: SflSpec,
    /// This call's derived seed.
    pub seed: u64,
    /// The federation.
    pub setting: SflSetting,
}

/// `securefl_api::Verdict`: accepted.
pub const VERDICT_ACCEPTED: u32 = 0;
/// `securefl_api::Verdict`: rejected.
pub const VERDICT_REJECTED: u32 = 1;
/// `securefl_api::Verdict`: not applicable.
pub const VERDICT_NOT_APPLICABLE: u32 = 2;

/// A defense's decision about one update.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SflVerdict {
    /// Hospital index.
    pub hospital: usize,
    /// One of the `VERDICT_*` codes.
    pub verdict: u32,
    /// 1 when `score` holds a value.
    pub has_score: u8,
    /// The score behind the decision.
    pub score: f64,
}

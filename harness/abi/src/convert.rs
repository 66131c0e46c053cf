//! Conversions between the API's Rust types and the C types of [`crate::types`], used by both
//! sides. Host → C conversions borrow; C → Rust conversions copy and validate lengths.

use securefl_api::{
    Arch, AttackCtx, ClientUpdate, ClientVerdict, CostRecord, ImageSet, ModelSpec, PluginError,
    Setting, Verdict,
};

use crate::types::{
    SflAttackCtx, SflImages, SflSetting, SflSpec, SflUpdate, SflVerdict, VERDICT_ACCEPTED,
    VERDICT_NOT_APPLICABLE, VERDICT_REJECTED,
};

/// A slice from a pointer and a length; a null pointer is an empty slice.
///
/// # Safety
/// Unless null, `ptr` points to `len` initialised values that outlive `'a` and are not written
/// while the slice lives.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller guarantees `len` valid values at `ptr` for `'a`.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// The C form of a model spec.
pub fn spec_to_c(spec: ModelSpec) -> SflSpec {
    SflSpec {
        arch: match spec.arch {
            Arch::PaperCnn => 0,
            Arch::WideCnn => 1,
        },
        in_channels: spec.in_channels,
        classes: spec.classes,
    }
}

/// The model spec of its C form; an unknown architecture code is an error.
pub fn spec_from_c(spec: SflSpec) -> Result<ModelSpec, PluginError> {
    let arch = match spec.arch {
        0 => Arch::PaperCnn,
        1 => Arch::WideCnn,
        a => {
            return Err(PluginError::invalid(format!(
                "unknown architecture code {a}"
            )));
        }
    };
    Ok(ModelSpec {
        arch,
        in_channels: spec.in_channels,
        classes: spec.classes,
    })
}

/// A C view of an image set, borrowing it.
pub fn images_to_c(set: &ImageSet) -> SflImages {
    SflImages {
        height: set.height,
        width: set.width,
        channels: set.channels,
        pixels: set.pixels.as_ptr(),
        pixels_len: set.pixels.len(),
        labels: set.labels.as_ptr(),
        count: set.labels.len(),
    }
}

/// A copy of the image set behind a C view; inconsistent lengths are an error.
///
/// # Safety
/// The view's pointers hold `pixels_len` pixels and `count` labels.
pub unsafe fn images_from_c(view: &SflImages) -> Result<ImageSet, PluginError> {
    let per_image = view.height * view.width * view.channels;
    if view.pixels_len != view.count * per_image {
        return Err(PluginError::invalid(format!(
            "image set has {} pixels for {} images of {}x{}x{}",
            view.pixels_len, view.count, view.height, view.width, view.channels
        )));
    }
    // SAFETY: the caller guarantees both buffers.
    let (pixels, labels) = unsafe {
        (
            slice(view.pixels, view.pixels_len),
            slice(view.labels, view.count),
        )
    };
    Ok(ImageSet {
        height: view.height,
        width: view.width,
        channels: view.channels,
        pixels: pixels.to_vec(),
        labels: labels.to_vec(),
    })
}

/// C views of updates, borrowing their deltas (writable only where the ABI says so).
pub fn updates_to_c(updates: &[ClientUpdate]) -> Vec<SflUpdate> {
    updates
        .iter()
        .map(|u| SflUpdate {
            hospital: u.hospital,
            samples: u.samples,
            delta: u.delta.as_ptr().cast_mut(),
            len: u.delta.len(),
            train_loss: u.train_loss,
        })
        .collect()
}

/// A copy of the update behind a C view.
///
/// # Safety
/// `view.delta` holds `view.len` values.
pub unsafe fn update_from_c(view: &SflUpdate) -> ClientUpdate {
    ClientUpdate {
        hospital: view.hospital,
        samples: view.samples,
        // SAFETY: the caller guarantees the delta buffer.
        delta: unsafe { slice(view.delta.cast_const(), view.len) }.to_vec(),
        train_loss: view.train_loss,
    }
}

/// The host's C form of an attack context; `benign` owns the update views it points to.
pub struct AttackCtxC {
    /// The context passed to the plugin.
    pub ctx: SflAttackCtx,
    _benign: Vec<SflUpdate>,
}

impl AttackCtxC {
    /// Borrows `ctx` (and its benign updates) for one call.
    pub fn new(ctx: &AttackCtx<'_>) -> Self {
        let benign = updates_to_c(ctx.benign);
        let c = SflAttackCtx {
            round: ctx.round,
            hospital: ctx.hospital,
            hospitals: ctx.hospitals,
            malicious: ctx.malicious,
            colluders: ctx.colluders.as_ptr(),
            colluders_len: ctx.colluders.len(),
            global: ctx.global.as_ptr(),
            global_len: ctx.global.len(),
            samples: ctx.samples.as_ptr(),
            samples_len: ctx.samples.len(),
            spec: spec_to_c(ctx.spec),
            classes: ctx.classes,
            seed: ctx.seed,
            benign: benign.as_ptr(),
            benign_len: benign.len(),
        };
        Self {
            ctx: c,
            _benign: benign,
        }
    }
}

/// The plugin's Rust form of an attack context: slices borrowed, benign updates copied.
pub struct AttackCtxOwned<'a> {
    c: &'a SflAttackCtx,
    spec: ModelSpec,
    benign: Vec<ClientUpdate>,
}

impl<'a> AttackCtxOwned<'a> {
    /// Reads a C attack context.
    ///
    /// # Safety
    /// Every pointer of `c` holds its stated number of values for `'a`.
    pub unsafe fn new(c: &'a SflAttackCtx) -> Result<Self, PluginError> {
        // SAFETY: the caller guarantees the benign views and their deltas.
        let views = unsafe { slice(c.benign, c.benign_len) };
        // SAFETY: as above.
        let benign = views.iter().map(|v| unsafe { update_from_c(v) }).collect();
        Ok(Self {
            c,
            spec: spec_from_c(c.spec)?,
            benign,
        })
    }

    /// The API's attack context.
    pub fn ctx(&self) -> AttackCtx<'_> {
        let c = self.c;
        // SAFETY: `new`'s caller guaranteed these buffers for `'a`, which outlives `self`.
        let (colluders, global, samples) = unsafe {
            (
                slice(c.colluders, c.colluders_len),
                slice(c.global, c.global_len),
                slice(c.samples, c.samples_len),
            )
        };
        AttackCtx {
            round: c.round,
            hospital: c.hospital,
            hospitals: c.hospitals,
            malicious: c.malicious,
            colluders,
            global,
            samples,
            spec: self.spec,
            classes: c.classes,
            seed: c.seed,
            benign: &self.benign,
        }
    }
}

/// The C form of a setting.
pub fn setting_to_c(s: &Setting) -> SflSetting {
    SflSetting {
        hospitals: s.hospitals,
        malicious: s.malicious,
    }
}

/// The setting of its C form.
pub fn setting_from_c(s: &SflSetting) -> Setting {
    Setting {
        hospitals: s.hospitals,
        malicious: s.malicious,
    }
}

/// The C form of a verdict (its cost stays on the plugin side: dynamic defenses run no SMPC).
pub fn verdict_to_c(v: &ClientVerdict) -> SflVerdict {
    SflVerdict {
        hospital: v.hospital,
        verdict: match v.verdict {
            Verdict::Accepted => VERDICT_ACCEPTED,
            Verdict::Rejected => VERDICT_REJECTED,
            Verdict::NotApplicable => VERDICT_NOT_APPLICABLE,
        },
        has_score: u8::from(v.score.is_some()),
        score: v.score.unwrap_or(0.0),
    }
}

/// The verdict of its C form; an unknown code is an error.
pub fn verdict_from_c(v: &SflVerdict) -> Result<ClientVerdict, PluginError> {
    let verdict = match v.verdict {
        VERDICT_ACCEPTED => Verdict::Accepted,
        VERDICT_REJECTED => Verdict::Rejected,
        VERDICT_NOT_APPLICABLE => Verdict::NotApplicable,
        c => return Err(PluginError::invalid(format!("unknown verdict code {c}"))),
    };
    Ok(ClientVerdict {
        hospital: v.hospital,
        verdict,
        score: (v.has_score != 0).then_some(v.score),
        cost: CostRecord::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_updates_survive_the_round_trip() {
        let set = ImageSet {
            height: 2,
            width: 2,
            channels: 1,
            pixels: (0..8).collect(),
            labels: vec![1, 0],
        };
        // SAFETY: the view borrows `set`, alive here.
        let back = unsafe { images_from_c(&images_to_c(&set)) }.unwrap();
        assert_eq!(back, set);
        let mut bad = images_to_c(&set);
        bad.pixels_len = 7;
        // SAFETY: as above; the shorter length stays inside the buffer.
        assert!(unsafe { images_from_c(&bad) }.is_err());
        let u = ClientUpdate {
            hospital: 3,
            samples: 9,
            delta: vec![1.5, -2.0],
            train_loss: 0.25,
        };
        let views = updates_to_c(std::slice::from_ref(&u));
        // SAFETY: the view borrows `u`, alive here.
        assert_eq!(unsafe { update_from_c(&views[0]) }, u);
    }

    #[test]
    fn specs_and_verdicts_survive_the_round_trip() {
        let spec = ModelSpec {
            arch: Arch::WideCnn,
            in_channels: 3,
            classes: 8,
        };
        assert_eq!(spec_from_c(spec_to_c(spec)).unwrap(), spec);
        let bad = SflSpec {
            arch: 9,
            ..spec_to_c(spec)
        };
        assert!(spec_from_c(bad).is_err());
        for (verdict, score) in [
            (Verdict::Accepted, Some(0.5)),
            (Verdict::Rejected, None),
            (Verdict::NotApplicable, None),
        ] {
            let v = ClientVerdict {
                hospital: 2,
                verdict,
                score,
                cost: CostRecord::default(),
            };
            assert_eq!(verdict_from_c(&verdict_to_c(&v)).unwrap(), v);
        }
    }
}

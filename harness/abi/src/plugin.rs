//! The plugin side: the traits a dynamic plugin implements and the bodies of its entry points.
//!
//! [`export_attack!`](crate::export_attack) and [`export_defense!`](crate::export_defense)
//! generate `#[unsafe(no_mangle)] extern "C"` functions that call the `#[doc(hidden)]`
//! functions here. Each body runs in [`guard`]: errors and panics become a [`Status`] and a
//! thread-local last-error message, and nothing unwinds across the boundary.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Once, OnceLock};

use securefl_api::{
    Attack, AttackKnowledge, ClientUpdate, ClientVerdict, ImageSet, ModelSpec, ParamError, Params,
    PluginError, PluginInfo, Setting,
};

use crate::convert::{self, AttackCtxOwned, slice};
use crate::types::{
    Handle, SflAttackCtx, SflDefenseCtx, SflImages, SflSetting, SflUpdate, SflVerdict, Status,
};

/// An attack that can be exported through the C ABI: a built-in style [`Attack`] that also
/// describes itself and builds from its parameters.
pub trait AttackPlugin: Attack + Sized + 'static {
    /// Name (kebab-case, unique among attacks), version, summary and citation.
    fn info() -> PluginInfo;
    /// Builds an instance from its config section (without `kind` and `library`).
    fn build(params: &Params) -> Result<Self, ParamError>;
}

/// What a dynamic defense sees of a round. Dynamic defenses read updates in the clear: the
/// SMPC protocol and the backend do not cross the C ABI.
#[derive(Debug, Clone, Copy)]
pub struct PlainDefenseCtx<'a> {
    /// The round, from 1.
    pub round: usize,
    /// The round's global model.
    pub global: &'a [f32],
    /// The architecture.
    pub spec: ModelSpec,
    /// This call's derived seed.
    pub seed: u64,
    /// The federation.
    pub setting: Setting,
}

/// What a dynamic defense returns.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainOutcome {
    /// The next global model, as long as the global model.
    pub model: Vec<f32>,
    /// One verdict per update, in the order of the updates.
    pub verdicts: Vec<ClientVerdict>,
}

/// An aggregation rule that can be exported through the C ABI.
pub trait DefensePlugin: Send + Sized + 'static {
    /// Name (kebab-case, unique among defenses), version, summary and citation.
    fn info() -> PluginInfo;
    /// Builds an instance from its config section (without `kind` and `library`).
    fn build(params: &Params) -> Result<Self, ParamError>;
    /// True when the rule accepts or rejects each update; false gives `verdict = n/a`.
    fn produces_verdicts(&self) -> bool;
    /// Refuses settings the rule cannot work in.
    fn check(&self, _setting: &Setting) -> Result<(), PluginError> {
        Ok(())
    }
    /// Combines the round's updates into the next global model.
    fn aggregate(
        &mut self,
        ctx: &PlainDefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<PlainOutcome, PluginError>;
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static OUTPUT: RefCell<Option<ImageSet>> = const { RefCell::new(None) };
    static PANIC_AT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Replaces the plugin's panic hook (the plugin's own copy of std, not the host's) with one that
/// prints nothing and remembers where the panic happened: the message travels to the host
/// through the last error, which the host reports as one line.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            PANIC_AT.with(|p| *p.borrow_mut() = at);
        }));
    });
}

/// Runs one entry point's body: `Ok` → [`Status::Ok`]; an error or a panic sets the last error.
pub fn guard(body: impl FnOnce() -> Result<(), PluginError>) -> i32 {
    quiet_panics();
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return Status::Ok as i32,
        Ok(Err(PluginError::Invalid(m))) => (Status::Invalid, m),
        Ok(Err(PluginError::Unsupported(m))) => (Status::Unsupported, m),
        Ok(Err(PluginError::Failed(m))) => (Status::Failed, m),
        Err(payload) => (Status::Panicked, panic_message(payload.as_ref())),
    };
    set_last_error(&message);
    status as i32
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned());
    let at = PANIC_AT.with(|p| std::mem::take(&mut *p.borrow_mut()));
    format!("{what}{at}").replace('\n', " ")
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// `securefl_plugin_last_error`.
#[doc(hidden)]
pub fn last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// `securefl_plugin_manifest`: the manifest, rendered once into `cell`; null if `info` panics.
#[doc(hidden)]
pub fn manifest(
    cell: &'static OnceLock<Option<CString>>,
    kind: &str,
    info: fn() -> PluginInfo,
) -> *const c_char {
    let text = cell.get_or_init(|| {
        let info = catch_unwind(info).ok()?;
        CString::new(manifest_text(kind, &info)).ok()
    });
    text.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

/// The manifest document of a plugin.
pub fn manifest_text(kind: &str, info: &PluginInfo) -> String {
    let mut t = toml::Table::new();
    let (major, minor) = crate::split_version(crate::EXPORTED_ABI_VERSION);
    t.insert("abi".into(), format!("{major}.{minor}").into());
    t.insert("kind".into(), kind.into());
    t.insert("name".into(), info.name.clone().into());
    t.insert("version".into(), info.version.clone().into());
    t.insert("summary".into(), info.summary.clone().into());
    if let Some(c) = &info.citation {
        t.insert("citation".into(), c.clone().into());
    }
    toml::to_string(&t).unwrap_or_default()
}

fn nonnull<T>(p: *const T, what: &str) -> Result<(), PluginError> {
    if p.is_null() {
        Err(PluginError::invalid(format!("{what} is a null pointer")))
    } else {
        Ok(())
    }
}

/// `securefl_plugin_new`.
///
/// # Safety
/// `params` holds `len` bytes; `out` is writable.
#[doc(hidden)]
pub unsafe fn new<T>(
    params: *const u8,
    len: usize,
    out: *mut Handle,
    build: fn(&Params) -> Result<T, ParamError>,
) -> i32 {
    guard(|| {
        nonnull(out, "the output handle")?;
        // SAFETY: the host passes `len` bytes.
        let bytes = unsafe { slice(params, len) };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PluginError::invalid("parameters are not UTF-8"))?;
        let params = Params::from_toml(text).map_err(|e| PluginError::invalid(e.to_string()))?;
        let plugin = build(&params).map_err(|e| PluginError::invalid(e.to_string()))?;
        // SAFETY: checked non-null above; the host owns the slot.
        unsafe { *out = Box::into_raw(Box::new(plugin)).cast() };
        Ok(())
    })
}

/// `securefl_plugin_free`.
///
/// # Safety
/// `h` came from [`new`] with the same `T` and is freed once.
#[doc(hidden)]
pub unsafe fn free<T>(h: Handle) {
    if !h.is_null() {
        // SAFETY: the caller guarantees `h` is a live `Box<T>`; a panicking drop is swallowed.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            drop(unsafe { Box::from_raw(h.cast::<T>()) })
        }));
    }
}

/// The plugin behind a handle.
///
/// # Safety
/// `h` is a live handle of a `T`, not used mutably elsewhere for `'a`.
unsafe fn plugin<'a, T>(h: Handle) -> Result<&'a mut T, PluginError> {
    nonnull(h, "the plugin handle")?;
    // SAFETY: the caller guarantees the handle.
    Ok(unsafe { &mut *h.cast::<T>() })
}

/// `securefl_attack_knowledge`.
///
/// # Safety
/// `h` is a live handle of a `T`; `out` is writable.
#[doc(hidden)]
pub unsafe fn attack_knowledge<T: AttackPlugin>(h: Handle, out: *mut u32) -> i32 {
    guard(|| {
        nonnull(out, "the output")?;
        // SAFETY: the host passes its handle and a writable `u32`.
        let attack = unsafe { plugin::<T>(h) }?;
        let code = match attack.knowledge() {
            AttackKnowledge::Own => 0,
            AttackKnowledge::Omniscient => 1,
        };
        // SAFETY: checked non-null.
        unsafe { *out = code };
        Ok(())
    })
}

/// Stores `set` in this thread's output slot and points `out` at it.
///
/// # Safety
/// `out` is writable.
unsafe fn emit(set: ImageSet, out: *mut SflImages) {
    OUTPUT.with(|slot| {
        let mut slot = slot.borrow_mut();
        let stored = slot.insert(set);
        // SAFETY: the caller guarantees `out`; the view stays valid until the next emit.
        unsafe { *out = convert::images_to_c(stored) };
    });
}

/// `securefl_attack_poison_data`.
///
/// # Safety
/// `h` is a live handle of a `T`; `ctx` and `data` are valid views; `out` is writable.
#[doc(hidden)]
pub unsafe fn attack_poison_data<T: AttackPlugin>(
    h: Handle,
    ctx: *const SflAttackCtx,
    data: *const SflImages,
    out: *mut SflImages,
) -> i32 {
    guard(|| {
        nonnull(ctx, "the attack context")?;
        nonnull(data, "the image set")?;
        nonnull(out, "the output")?;
        // SAFETY: the host passes valid views for the duration of the call.
        let (attack, ctx, mut set) = unsafe {
            (
                plugin::<T>(h)?,
                AttackCtxOwned::new(&*ctx)?,
                convert::images_from_c(&*data)?,
            )
        };
        attack.poison_data(&ctx.ctx(), &mut set)?;
        // SAFETY: checked non-null.
        unsafe { emit(set, out) };
        Ok(())
    })
}

/// `securefl_attack_poison_update`.
///
/// # Safety
/// `h` is a live handle of a `T`; `ctx` is a valid view; `update` is a valid view whose delta
/// the host lets the plugin write.
#[doc(hidden)]
pub unsafe fn attack_poison_update<T: AttackPlugin>(
    h: Handle,
    ctx: *const SflAttackCtx,
    update: *mut SflUpdate,
) -> i32 {
    guard(|| {
        nonnull(ctx, "the attack context")?;
        nonnull(update, "the update")?;
        // SAFETY: the host passes valid views for the duration of the call.
        let (attack, ctx, view) =
            unsafe { (plugin::<T>(h)?, AttackCtxOwned::new(&*ctx)?, &*update) };
        // SAFETY: as above.
        let mut u = unsafe { convert::update_from_c(view) };
        attack.poison_update(&ctx.ctx(), &mut u)?;
        if u.delta.len() != view.len {
            return Err(PluginError::invalid(format!(
                "poison_update changed the update's length from {} to {}",
                view.len,
                u.delta.len()
            )));
        }
        // SAFETY: the host lets the plugin write `view.len` values at `view.delta`.
        unsafe { std::slice::from_raw_parts_mut(view.delta, view.len) }.copy_from_slice(&u.delta);
        Ok(())
    })
}

/// `securefl_attack_trigger_set`.
///
/// # Safety
/// `h` is a live handle of a `T`; `test` is a valid view; `has` and `out` are writable.
#[doc(hidden)]
pub unsafe fn attack_trigger_set<T: AttackPlugin>(
    h: Handle,
    test: *const SflImages,
    classes: usize,
    has: *mut u8,
    out: *mut SflImages,
) -> i32 {
    guard(|| {
        nonnull(test, "the test set")?;
        nonnull(has, "the output flag")?;
        nonnull(out, "the output")?;
        // SAFETY: the host passes a valid view for the duration of the call.
        let (attack, test) = unsafe { (plugin::<T>(h)?, convert::images_from_c(&*test)?) };
        let probe = attack.trigger_test_set(&test, classes)?;
        // SAFETY: checked non-null.
        unsafe { *has = u8::from(probe.is_some()) };
        if let Some(set) = probe {
            // SAFETY: checked non-null.
            unsafe { emit(set, out) };
        }
        Ok(())
    })
}

/// `securefl_defense_verdicts`.
///
/// # Safety
/// `h` is a live handle of a `T`; `out` is writable.
#[doc(hidden)]
pub unsafe fn defense_verdicts<T: DefensePlugin>(h: Handle, out: *mut u8) -> i32 {
    guard(|| {
        nonnull(out, "the output")?;
        // SAFETY: the host passes its handle.
        let v = unsafe { plugin::<T>(h) }?.produces_verdicts();
        // SAFETY: checked non-null.
        unsafe { *out = u8::from(v) };
        Ok(())
    })
}

/// `securefl_defense_check`.
///
/// # Safety
/// `h` is a live handle of a `T`; `setting` is valid.
#[doc(hidden)]
pub unsafe fn defense_check<T: DefensePlugin>(h: Handle, setting: *const SflSetting) -> i32 {
    guard(|| {
        nonnull(setting, "the setting")?;
        // SAFETY: the host passes its handle and a valid setting.
        let (defense, s) = unsafe { (plugin::<T>(h)?, &*setting) };
        defense.check(&convert::setting_from_c(s))
    })
}

/// `securefl_defense_aggregate`.
///
/// # Safety
/// `h` is a live handle of a `T`; `ctx` and `updates` (`n` of them) are valid views; `model`
/// holds `model_len` writable values and `verdicts` `n` writable verdicts.
#[doc(hidden)]
pub unsafe fn defense_aggregate<T: DefensePlugin>(
    h: Handle,
    ctx: *const SflDefenseCtx,
    updates: *const SflUpdate,
    n: usize,
    model: *mut f32,
    model_len: usize,
    verdicts: *mut SflVerdict,
) -> i32 {
    guard(|| {
        nonnull(ctx, "the defense context")?;
        nonnull(model, "the model buffer")?;
        nonnull(verdicts, "the verdict buffer")?;
        // SAFETY: the host passes valid views for the duration of the call.
        let (defense, c) = unsafe { (plugin::<T>(h)?, &*ctx) };
        // SAFETY: as above.
        let views = unsafe { slice(updates, n) };
        // SAFETY: as above.
        let updates: Vec<_> = views
            .iter()
            .map(|v| unsafe { convert::update_from_c(v) })
            .collect();
        let pctx = PlainDefenseCtx {
            round: c.round,
            // SAFETY: as above.
            global: unsafe { slice(c.global, c.global_len) },
            spec: convert::spec_from_c(c.spec)?,
            seed: c.seed,
            setting: convert::setting_from_c(&c.setting),
        };
        let outcome = defense.aggregate(&pctx, &updates)?;
        check_outcome(&outcome, model_len, n)?;
        // SAFETY: the host provides `model_len` values and `n` verdicts.
        let (m, v) = unsafe {
            (
                std::slice::from_raw_parts_mut(model, model_len),
                std::slice::from_raw_parts_mut(verdicts, n),
            )
        };
        m.copy_from_slice(&outcome.model);
        v.iter_mut()
            .zip(&outcome.verdicts)
            .for_each(|(slot, verdict)| *slot = convert::verdict_to_c(verdict));
        Ok(())
    })
}

fn check_outcome(o: &PlainOutcome, model_len: usize, n: usize) -> Result<(), PluginError> {
    if o.model.len() != model_len {
        return Err(PluginError::invalid(format!(
            "aggregate returned {} weights for a {model_len}-weight model",
            o.model.len()
        )));
    }
    if o.verdicts.len() != n {
        return Err(PluginError::invalid(format!(
            "aggregate returned {} verdicts for {n} updates",
            o.verdicts.len()
        )));
    }
    Ok(())
}

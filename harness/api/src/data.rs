//! Images, datasets, dataset sources and partitioners.

use std::path::PathBuf;

use crate::PluginError;

/// A labelled set of small images, stored as MedMNIST stores them.
///
/// Pixels are `u8`, image-major and channel-last: pixel `(i, y, x, c)` is at
/// `((i * height + y) * width + x) * channels + c`.
/// Backends and SMPC engines feed pixels to a model through [`pixel_value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Channels per pixel (1 for grey, 3 for RGB).
    pub channels: usize,
    /// All pixels, `len() * height * width * channels` of them.
    pub pixels: Vec<u8>,
    /// One class index per image.
    pub labels: Vec<u8>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image (`height * width * channels`).
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// A new set made of the images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            height: self.height,
            width: self.width,
            channels: self.channels,
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Number of images of each class, for `classes` classes.
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

/// The model input for a pixel: `p / 255` normalised with mean 0.5 and standard deviation 0.5,
/// i.e. mapped to `[-1, 1]`, as MedMNIST's reference pipeline does
/// (`ToTensor()` then `Normalize(mean=[.5], std=[.5])`).
pub fn pixel_value(p: u8) -> f32 {
    f32::from(p) / 127.5 - 1.0
}

/// The kind of classification task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Two classes.
    Binary,
    /// More than two mutually exclusive classes.
    MultiClass,
}

/// A dataset with its official train, validation and test splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Short name (the MedMNIST flag, e.g. `pneumoniamnist`).
    pub name: String,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// Binary or multi-class.
    pub task: Task,
    /// Training split, partitioned over hospitals.
    pub train: ImageSet,
    /// Validation split (held by the validators in the paper's design).
    pub val: ImageSet,
    /// Test split, used to evaluate every global model.
    pub test: ImageSet,
    /// Provenance recorded in the run manifest (path and checksum of the source file).
    pub provenance: Provenance,
}

impl Dataset {
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }
}

/// Where a dataset came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// The file that was read.
    pub path: PathBuf,
    /// Its md5, as verified against the official checksum (empty for generated data).
    pub md5: String,
    /// True for seeded synthetic data (unit tests only; never a stand-in for real data).
    pub synthetic: bool,
}

/// Where dataset sources look for files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCtx {
    /// Directories searched first, in order (from `$SECUREFL_DATA`).
    pub search_dirs: Vec<PathBuf>,
    /// The per-user cache, searched next and filled by downloads.
    pub cache_dir: PathBuf,
    /// When false, a missing file is an error that says where to put it; nothing is downloaded.
    pub allow_download: bool,
    /// Whether a download may draw a progress bar on the terminal.
    pub progress: bool,
}

/// Loads a dataset.
///
/// Contract: the returned splits are validated (shapes, label range, class count), the source
/// file's checksum is verified when one is known, and real data is never silently replaced by
/// generated data.
pub trait DatasetSource: Send + Sync {
    /// Loads the dataset, downloading it if allowed and needed.
    fn load(&self, ctx: &DataCtx) -> Result<Dataset, PluginError>;
}

/// What a partitioner needs besides the labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionCtx {
    /// Number of hospitals.
    pub hospitals: usize,
    /// Number of classes.
    pub classes: usize,
    /// The partitioner's derived seed.
    pub seed: u64,
    /// Fewest training images any hospital may get.
    pub min_samples: usize,
}

/// Splits training images over hospitals.
///
/// Contract: returns one list of indices into `labels` per hospital; the lists are disjoint,
/// each holds at least `ctx.min_samples` indices, and the result depends only on `labels`, the
/// parameters and `ctx`.
/// A setting that cannot give every hospital data is an error, never an empty hospital.
pub trait Partitioner: Send + Sync {
    /// The indices of each hospital's training images.
    fn split(&self, ctx: &PartitionCtx, labels: &[u8]) -> Result<Vec<Vec<usize>>, PluginError>;
}

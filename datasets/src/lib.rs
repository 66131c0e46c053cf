//! Dataset sources and partitioners (being written).

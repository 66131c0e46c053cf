//! `replicated-3pc`: three-party replicated secret sharing (being written).

//! `pbft`: Practical Byzantine Fault Tolerance (Castro & Liskov, TOCS 2002), block-adapted.

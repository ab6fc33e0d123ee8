//! chaos-load against real servers on loopback.

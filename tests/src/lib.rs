//! Private Tor network harness (TODO).

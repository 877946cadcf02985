//! onionfront-arti: the Arti network layer (TODO).

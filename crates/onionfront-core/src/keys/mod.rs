//! Identity keys of the public services: loading, generating, writing.

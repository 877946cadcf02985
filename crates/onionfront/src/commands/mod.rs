//! The subcommands implemented in this crate: [`keygen`], [`keys`] (generate, provision and
//! show key bundles), [`init`] (with the files it writes in
//! [`init_files`] and the ownership it gives them in [`init_owner`]), [`check`] and [`reload`]. (`run` and `status` live in `crate::daemon` and
//! `crate::status_client`.)

pub mod check;
pub mod generate_docs;
pub mod init;
pub mod init_files;
pub mod init_owner;
pub mod keygen;
pub mod keys;
pub mod reload;

//! The host side: generations (the state store), change detection, pulls, ordered restarts,
//! health checks, rollback, and the systemd generator. Effects live here, behind small traits.

//! Claiming (领取) from a pool within the limits, releasing to a pool with a reason.

//! Reclaim rules (回收规则) and the reclaim job: warnings before, and the return to the pool, once across servers.

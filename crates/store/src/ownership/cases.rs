//! Collision cases (撞单): opened with both sides' evidence, settled by the two, decided by a supervisor or leadership, and the ledger of decisions.

//! The public pools (公海): named pools open to chosen teams, the claim limits, and pool statistics.

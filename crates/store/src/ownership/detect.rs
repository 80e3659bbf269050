//! Detecting a collision (撞单) by phone, company name and e-mail on entry, import, claim, hand-over and before a call.

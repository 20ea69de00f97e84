//! The relay contract's `history` over NATS: validated by the worker like every field (a 400
//! naming the entry and field), and requests without it still answered.

//! Delivery gaps, from the events themselves.

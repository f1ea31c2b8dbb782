//! Loading and validation of small releases written in the tests, one rule at a time.

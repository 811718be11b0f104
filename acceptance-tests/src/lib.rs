//! Harness for acceptance tests: see tests/.

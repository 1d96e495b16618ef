// Package benchtest holds what the side-by-side benchmarks of the root
// package (issue 13) measure the hook against and drive it with: floorreq,
// the floor of the work every correct hook must do; a fast fake 8x8; Okta
// requests in two load shapes (returning users, and a flood of distinct
// numbers, users and eventIds); a load driver; and snapshots of the Go
// runtime's GC and lock metrics.
package benchtest

// Package benchtest holds what the root package's side-by-side benchmarks
// measure the hook against and drive it with: floorreq, the least a
// correct hook must do; a fast fake 8x8; the flood of Okta requests with
// distinct numbers, users and eventIds; and a load driver.
package benchtest

// Package fieldtest puts Watchpost under field conditions. Its one job is
// Link: a userspace TCP relay that stands for a post's satellite link to
// HQ (one-way delay, loss, a rate limit, outages) and counts the bytes
// that cross it. Its tests run the real daemon.Post and daemon.HQ across
// a Link (satellite_test.go) and a seeded soak of faults against the real
// watchpost and watchpost-hq binaries (soak_test.go).
//
// The relay stands in for tc netem: a kernel without sch_netem (tc
// answers "Specified qdisc kind is unknown") cannot delay or drop in a
// network namespace, and a relay runs the same everywhere, as any user.
// A lost segment is modelled as TCP sees it after its retransmission: the
// chunk and everything behind it on that connection arrive one
// retransmission timeout late.
package fieldtest

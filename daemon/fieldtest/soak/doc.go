// Package soak holds a seeded soak of faults against the real watchpost
// and watchpost-hq binaries, built by the test: kill -9 of the post, of
// HQ and of the broker (the embedded one and Mosquitto), link cuts and
// the satellite profile (fieldtest.Link), and publishes of new editions
// during them. Its one job is the invariants at the end: every hit and
// every decision the post's API acknowledged is at HQ exactly once, the
// post screens on HQ's list, and no process exited unless the test killed
// it. It has no code outside its test.
package soak

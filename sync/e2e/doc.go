// Package e2e holds the end-to-end tests of list replication: HQ's
// publisher (sync/publish) and several posts (sync/replica over
// engine/badgerstore, each subscribed through sync/mqtt, fetching
// snapshots with sync/snapshot over HTTPS on loopback), through a real
// broker: an in-process mochi-mqtt always, and Mosquitto when its binary
// is installed. Nothing the project owns is mocked. The package has no
// code outside its tests; the wiring in its helpers is a sketch of what
// the post daemon (`watchpost run`, not built yet) will do.
package e2e

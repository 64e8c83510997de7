// Package broker runs an embedded MQTT broker (mochi-mqtt) for small HQ
// deployments and the demo. Its one job is to enforce the sync
// protocol's access rules (PROTOCOL.md §1) on every
// connection: who may connect, under which client id, and which topics
// each identity may publish and subscribe to.
//
// # Identities
//
// A connection's identity is, in this order: the CN of a client
// certificate verified by the TLS listener (the MQTT username is then
// ignored, like Mosquitto's use_identity_as_username); the MQTT username
// when its password matches Options.Users or Options.PasswordFile (a
// Mosquitto password file); or, with Options.AllowAnonymousLoopback (demo
// only), an anonymous client on a loopback address, identified by its
// client id. The HQ account's identity is Options.HQUsername
// ("watchpost-hq" by default); every other identity must be a valid post
// id ([a-z0-9-], protocol.ValidatePostID). Anything else is refused.
//
// # Rules
//
//	HQ      read  watchpost/v1/posts/#
//	        write watchpost/v1/lists/#, watchpost/v1/keys/#, watchpost/v1/posts/+/acks
//	post P  read  watchpost/v1/lists/#, watchpost/v1/keys/#, watchpost/v1/posts/P/acks
//	        write watchpost/v1/posts/P/hits, .../P/status, .../P/presence
//
// Nothing else is allowed ($SYS included). A subscription is allowed only
// if every topic its filter can match is readable (a post may not
// subscribe to watchpost/v1/posts/+/acks), and every delivery is checked
// again. A post's client id must be protocol.PostClientID(P)
// ("watchpost-post-P"), and HQ may not use that prefix, so no client can
// take over another's session. A will is checked as a publish when the
// client connects: a post whose will is not on a topic it may write is
// refused. configs/mosquitto ships the same rules for Mosquitto.
//
// Refused publishes: for an MQTT 3.1.1 client mochi closes the
// connection (Mosquitto instead acknowledges and drops the message); MQTT
// 5 clients get a PUBACK with "not authorized". Either way the message
// reaches nobody, and the post's outbox keeps it until HQ acknowledges it.
//
// # Persistence
//
// With Options.DataDir, sessions, subscriptions, queued QoS 1 messages and
// retained messages are kept in Badger (mochi's storage hook, on the
// badger/v4 module the post's store already uses) and survive a restart.
// Without it they are in memory only. Large or durable deployments use
// Mosquitto (configs/mosquitto) or a clustered MQTT 3.1.1 broker.
//
// Go sets TCP_NODELAY on every TCP connection, the equivalent of
// Mosquitto's set_tcp_nodelay true.
package broker

package config_test

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/sync/protocol"
)

// A post runs with a minimal configuration: its id, HQ's broker, HQ's
// public keys and the lists it replicates. Everything else has a default,
// and the environment overrides any key.
func Example_minimal() {
	dir, err := os.MkdirTemp("", "watchpost-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, "hq-keys.txt"), []byte(protocol.FormatPublicKey(pub)+"\n"), 0o644); err != nil {
		panic(err)
	}
	file := filepath.Join(dir, "watchpost.yaml")
	if err := os.WriteFile(file, []byte(`
post_id: gate-north-1
hq:
  brokers: [tls://hq.example.org:8883]
  keys_file: hq-keys.txt
lists: [un, national]
`), 0o644); err != nil {
		panic(err)
	}
	env := map[string]string{"WATCHPOST_STOP_TIMEOUT": "10s"}
	cfg, err := config.Load(file, func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("post:", cfg.PostID, "lists:", cfg.Lists, "HQ keys:", len(cfg.HQ.KeySet.Keys()))
	fmt.Println("api:", cfg.API.Listen, "outbox:", cfg.Outbox.Budget, "retention:", cfg.Screening.Retention)
	fmt.Println("stop_timeout:", cfg.StopTimeout, "from", cfg.Source("stop_timeout"))
	// Output:
	// post: gate-north-1 lists: [un national] HQ keys: 1
	// api: 127.0.0.1:8640 outbox: 64MiB retention: 24h
	// stop_timeout: 10s from env WATCHPOST_STOP_TIMEOUT
}

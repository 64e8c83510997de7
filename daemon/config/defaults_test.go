package config_test

import (
	"testing"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/mqtt"
)

// TestMQTTDefaults: the configuration states the MQTT client's defaults
// without linking it; they must stay the client's.
func TestMQTTDefaults(t *testing.T) {
	if config.DefaultKeepAlive != mqtt.DefaultKeepAlive || config.DefaultConnectTimeout != mqtt.DefaultConnectTimeout {
		t.Errorf("config defaults keep_alive %s, connect_timeout %s; sync/mqtt's are %s and %s",
			config.DefaultKeepAlive, config.DefaultConnectTimeout, mqtt.DefaultKeepAlive, mqtt.DefaultConnectTimeout)
	}
	c := config.Default()
	if c.HQ.KeepAlive.Duration() != mqtt.DefaultKeepAlive || c.HQ.ConnectTimeout.Duration() != mqtt.DefaultConnectTimeout {
		t.Errorf("Default() has keep_alive %s, connect_timeout %s", c.HQ.KeepAlive, c.HQ.ConnectTimeout)
	}
}

// TestDiskReserveDefault: the configuration states the store's default
// reserve without linking Badger; it must stay the store's.
func TestDiskReserveDefault(t *testing.T) {
	if config.DefaultDiskReserve.Bytes() != badgerstore.DefaultDiskReserve {
		t.Errorf("config.DefaultDiskReserve %s, badgerstore's %d bytes", config.DefaultDiskReserve, badgerstore.DefaultDiskReserve)
	}
	if got := config.Default().Store.DiskReserve; got != config.DefaultDiskReserve {
		t.Errorf("Default() has store.disk_reserve %s, want %s", got, config.DefaultDiskReserve)
	}
}

package hqcli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

type serveFlags struct {
	*pubFlags
	listen, httpsCert, httpsKey, adminTokenFile string
	insecureHTTP                                bool
	headInterval                                time.Duration
	maxEditionSize                              int64
	// The embedded broker.
	listenMQTT, listenMQTTS, mqttCert, mqttKey, mqttClientCA, mqttPasswordFile string
	mqttAnonymousLoopback                                                      bool
	retainHits, retainStatus, retainTelemetry                                  retention
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "serve", "--data-dir DIR --key FILE (--broker URL | --listen-mqtt ADDR) (--https-cert FILE --https-key FILE | --insecure-http) [--listen ADDR]")
	f := &serveFlags{pubFlags: addPubFlags(fs)}
	f.clientID = daemon.HQServeClientID
	fs.Lookup("client-id").DefValue = daemon.HQServeClientID
	fs.StringVar(&f.listen, "listen", ":8443", "HTTPS address serving "+protocol.PathSnapshots+", "+protocol.PathDeltas+", "+protocol.PathHealth+" and the admin API /v1/ (posts, hits, publish, heads)")
	fs.StringVar(&f.httpsCert, "https-cert", "", "HTTPS server certificate (PEM)")
	fs.StringVar(&f.httpsKey, "https-key", "", "HTTPS server key (PEM)")
	fs.BoolVar(&f.insecureHTTP, "insecure-http", false, "serve plain HTTP instead (loopback --listen only; demos and tests)")
	fs.StringVar(&f.adminTokenFile, "admin-token-file", "", "file holding the bearer token of /v1/ (without one, /v1/ answers loopback clients only)")
	fs.DurationVar(&f.headInterval, "head-interval", hqserver.DefaultHeadInterval, "how often every list's head is re-signed")
	fs.Int64Var(&f.maxEditionSize, "max-edition-size", hqserver.DefaultMaxEditionSize, "largest edition (bytes) publish --hq may upload")
	f.retainHits.d, f.retainStatus.d, f.retainTelemetry.d = hqserver.DefaultRetainHits, hqserver.DefaultRetainStatus, hqserver.DefaultRetainTelemetry
	fs.Var(&f.retainHits, "retain-hits", "how long hits and dispositions are kept after HQ received them (5y, 30d, 12h; 0: forever)")
	fs.Var(&f.retainStatus, "retain-status", "how long status records are kept (0: forever)")
	fs.Var(&f.retainTelemetry, "retain-telemetry", "how long telemetry records are kept (0: forever)")
	fs.StringVar(&f.listenMQTT, "listen-mqtt", "", "run the embedded broker, its plain listener on this loopback address (instead of --broker)")
	fs.StringVar(&f.listenMQTTS, "listen-mqtts", "", "embedded broker: the posts' TLS listener, e.g. 0.0.0.0:8883")
	fs.StringVar(&f.mqttCert, "mqtt-cert", "", "embedded broker: TLS certificate (PEM)")
	fs.StringVar(&f.mqttKey, "mqtt-key", "", "embedded broker: TLS key (PEM)")
	fs.StringVar(&f.mqttClientCA, "mqtt-client-ca", "", "embedded broker: CA of the posts' client certificates (PEM; CN = post id)")
	fs.StringVar(&f.mqttPasswordFile, "mqtt-password-file", "", "embedded broker: Mosquitto password file of the posts")
	fs.BoolVar(&f.mqttAnonymousLoopback, "mqtt-anonymous-loopback", false, "embedded broker: admit anonymous loopback clients (DEMO ONLY)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := f.check(len(pos)); err != nil {
		return err
	}
	return serve(ctx, env, f)
}

func (f *serveFlags) check(args int) error {
	switch {
	case args > 0:
		return usagef("serve takes no arguments")
	case f.dataDir == "":
		return usagef("--data-dir is required")
	case f.key == "":
		return usagef("--key is required (serve re-signs heads)")
	case (f.broker == "") == (f.listenMQTT == ""):
		return usagef("give one of --broker (an external broker) and --listen-mqtt (the embedded one)")
	case (f.tlsCA == "") != (f.tlsCert == "") || (f.tlsCA == "") != (f.tlsKey == ""):
		return usagef("--tls-ca, --tls-cert and --tls-key go together")
	case f.listenMQTT != "" && (f.brokerUser != "" || f.brokerPasswordFile != ""):
		return usagef("--broker-user and --broker-password-file are for --broker; the embedded broker makes HQ's account itself")
	case f.listenMQTT != "" && f.tlsCA != "":
		return usagef("--tls-ca, --tls-cert and --tls-key are for --broker; the embedded broker's are --mqtt-cert, --mqtt-key, --mqtt-client-ca")
	}
	if err := f.checkEditions(); err != nil {
		return err
	}
	switch {
	case f.maxEditionSize < 1:
		return usagef("--max-edition-size must be positive")
	case f.headInterval < time.Second || f.headInterval >= f.headValidity:
		return usagef("--head-interval must be at least a second and shorter than --head-validity")
	case f.insecureHTTP && (f.httpsCert != "" || f.httpsKey != ""):
		return usagef("--insecure-http and --https-cert/--https-key exclude each other")
	case !f.insecureHTTP && (f.httpsCert == "" || f.httpsKey == ""):
		return usagef("--https-cert and --https-key are required (or --insecure-http on loopback)")
	case f.insecureHTTP && !daemon.IsLoopback(f.listen):
		return usagef("--insecure-http needs a loopback --listen address, not %q", f.listen)
	case f.listenMQTT == "" && (f.listenMQTTS != "" || f.mqttCert != "" || f.mqttKey != "" || f.mqttClientCA != "" || f.mqttPasswordFile != "" || f.mqttAnonymousLoopback):
		return usagef("the --mqtt-* and --listen-mqtts flags configure the embedded broker: they need --listen-mqtt")
	case f.listenMQTT != "" && !daemon.IsLoopback(f.listenMQTT):
		return usagef("--listen-mqtt is a plain listener and must be a loopback address (posts use --listen-mqtts)")
	case (f.listenMQTTS == "") != (f.mqttCert == "") || (f.listenMQTTS == "") != (f.mqttKey == ""):
		return usagef("--listen-mqtts, --mqtt-cert and --mqtt-key go together")
	}
	return nil
}

// serve runs HQ (daemon.HQ: the embedded broker if asked for, the link,
// the publisher, the server and HTTP(S)) until ctx ends.
func serve(ctx context.Context, env *Env, f *serveFlags) error {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := f.hqConfig()
	if err != nil {
		return err
	}
	cfg.Logger = log
	if cfg.StoreKey, err = storeKey(env, f.storeKeyFile); err != nil {
		return err
	}
	h, err := daemon.NewHQ(cfg)
	if err != nil {
		return err
	}
	recorded := false
	err = h.Run(ctx, func() {
		if plain, posts := h.BrokerURLs(); plain != "" {
			fmt.Fprintf(env.Stdout, "embedded broker: HQ on %s", plain)
			if posts != "" {
				fmt.Fprintf(env.Stdout, ", posts on %s", posts)
			}
			fmt.Fprintln(env.Stdout)
		}
		fmt.Fprintf(env.Stdout, "serving %s\n", h.URL())
		// Read commands given --data-dir go through serve while it holds
		// the store: tell them where it listens.
		if err := f.writeServeRecord(h.URL()); err != nil {
			log.Warn("read commands with --data-dir will not find serve; they name the --hq command instead", logkey.Error, err)
		} else {
			recorded = true
		}
	})
	if recorded { // not another serve's, which a second one failing to start would remove
		removeServeRecord(f.dataDir)
	}
	return storeError(err)
}

// hqConfig reads the key, token and certificate files the flags name into
// HQ's configuration.
func (f *serveFlags) hqConfig() (daemon.HQConfig, error) {
	signer, err := publish.LoadSigner(f.key)
	if err != nil {
		return daemon.HQConfig{}, err
	}
	cfg := daemon.HQConfig{
		DataDir: f.dataDir, Signer: signer, SnapshotDir: f.snapshotDir, SnapshotURL: f.snapshotURL,
		DeltaWindow: f.deltaWindow, HeadValidity: f.headValidity, MaxShrink: f.maxShrink,
		ClientID: f.clientID, ConnectTimeout: f.connectTimeout,
		Listen: f.listen, MaxEditionSize: f.maxEditionSize, HeadInterval: f.headInterval,
		Retention: hqserver.Retention{Hits: f.retainHits.config(), Status: f.retainStatus.config(), Telemetry: f.retainTelemetry.config()},
	}
	if f.adminTokenFile != "" {
		b, err := os.ReadFile(f.adminTokenFile)
		if err != nil {
			return cfg, fmt.Errorf("admin token: %w", err)
		}
		if cfg.AdminToken = strings.TrimSpace(string(b)); len(cfg.AdminToken) < 16 {
			return cfg, fmt.Errorf("admin token in %s: want at least 16 characters", f.adminTokenFile)
		}
	}
	if !f.insecureHTTP {
		cert, err := tls.LoadX509KeyPair(f.httpsCert, f.httpsKey)
		if err != nil {
			return cfg, fmt.Errorf("HTTPS certificate: %w", err)
		}
		cfg.HTTPS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if f.listenMQTT != "" {
		cfg.EmbeddedBroker, err = f.brokerOptions()
		return cfg, err
	}
	cfg.Link, err = f.link()
	return cfg, err
}

// brokerOptions are the embedded broker's listeners and the posts'
// credentials; daemon.HQ adds HQ's own account.
func (f *serveFlags) brokerOptions() (*broker.Options, error) {
	opts := &broker.Options{
		Addr:                   f.listenMQTT,
		TLSAddr:                f.listenMQTTS,
		PasswordFile:           f.mqttPasswordFile,
		AllowAnonymousLoopback: f.mqttAnonymousLoopback,
	}
	if f.listenMQTTS == "" {
		return opts, nil
	}
	var err error
	if f.mqttClientCA != "" {
		opts.TLS, err = broker.ServerTLSConfig(f.mqttCert, f.mqttKey, f.mqttClientCA)
	} else {
		var cert tls.Certificate
		cert, err = tls.LoadX509KeyPair(f.mqttCert, f.mqttKey)
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if err != nil {
		return nil, fmt.Errorf("broker TLS: %w", err)
	}
	return opts, nil
}

package hqcli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/hq"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
)

// Defaults of serve.
const (
	// serveClientID is serve's MQTT client id. It differs from the
	// publish command's "watchpost-hq": the broker keeps a persistent
	// session per client id, and serve's holds the posts' records queued
	// while it is down; another client under that id would take them.
	serveClientID = "watchpost-hq-serve"
	brokerDir     = "broker"  // the embedded broker's Badger, under --data-dir
	uploadsDir    = "uploads" // editions POSTed to /v1/lists/, while they are published
	// shutdownTimeout bounds the HTTP server's graceful shutdown.
	shutdownTimeout = 5 * time.Second
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
	f.clientID = serveClientID
	fs.Lookup("client-id").DefValue = serveClientID
	fs.StringVar(&f.listen, "listen", ":8443", "HTTPS address serving /snapshots/, /deltas/, /healthz and the admin API /v1/ (posts, hits, publish, heads)")
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
	case f.listenMQTT != "" && f.tlsCA != "":
		return usagef("--tls-ca, --tls-cert and --tls-key are for --broker; the embedded broker's are --mqtt-cert, --mqtt-key, --mqtt-client-ca")
	case f.snapshotURL != "" && !strings.HasPrefix(f.snapshotURL, "https://"):
		return usagef("--snapshot-url must be https://")
	case f.deltaWindow < 1:
		return usagef("--delta-window must be at least 1")
	case f.headValidity < time.Minute:
		return usagef("--head-validity must be at least a minute")
	case f.maxEditionSize < 1:
		return usagef("--max-edition-size must be positive")
	case f.headInterval < time.Second || f.headInterval >= f.headValidity:
		return usagef("--head-interval must be at least a second and shorter than --head-validity")
	case f.insecureHTTP && (f.httpsCert != "" || f.httpsKey != ""):
		return usagef("--insecure-http and --https-cert/--https-key exclude each other")
	case !f.insecureHTTP && (f.httpsCert == "" || f.httpsKey == ""):
		return usagef("--https-cert and --https-key are required (or --insecure-http on loopback)")
	case f.insecureHTTP && !loopback(f.listen):
		return usagef("--insecure-http needs a loopback --listen address, not %q", f.listen)
	case f.listenMQTT == "" && (f.listenMQTTS != "" || f.mqttCert != "" || f.mqttKey != "" || f.mqttClientCA != "" || f.mqttPasswordFile != "" || f.mqttAnonymousLoopback):
		return usagef("the --mqtt-* and --listen-mqtts flags configure the embedded broker: they need --listen-mqtt")
	case f.listenMQTT != "" && !loopback(f.listenMQTT):
		return usagef("--listen-mqtt is a plain listener and must be a loopback address (posts use --listen-mqtts)")
	case (f.listenMQTTS == "") != (f.mqttCert == "") || (f.listenMQTTS == "") != (f.mqttKey == ""):
		return usagef("--listen-mqtts, --mqtt-cert and --mqtt-key go together")
	}
	return nil
}

// loopback reports whether addr's host is a loopback IP or "localhost".
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serve runs HQ's server until ctx ends: the embedded broker (if asked
// for), the MQTT client, hqserver and the HTTP(S) server.
func serve(ctx context.Context, env *Env, f *serveFlags) (err error) {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	signer, err := hq.LoadSigner(f.key)
	if err != nil {
		return err
	}
	if f.snapshotURL == "" {
		log.Warn("No --snapshot-url: heads name no snapshot, and a post that needs one cannot recover")
	}
	token := ""
	if f.adminTokenFile != "" {
		b, err := os.ReadFile(f.adminTokenFile)
		if err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		if token = strings.TrimSpace(string(b)); len(token) < 16 {
			return fmt.Errorf("admin token in %s: want at least 16 characters", f.adminTokenFile)
		}
	}
	var httpsTLS *tls.Config
	if !f.insecureHTTP {
		cert, err := tls.LoadX509KeyPair(f.httpsCert, f.httpsKey)
		if err != nil {
			return fmt.Errorf("HTTPS certificate: %w", err)
		}
		httpsTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}

	st, err := openStore(env, f.dataDir, f.storeKeyFile)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()

	mopts := mqtt.Options{Brokers: []string{f.broker}, ClientID: f.clientID, ConnectRetryInterval: 2 * time.Second, Logger: log}
	if f.listenMQTT != "" {
		b, user, pass, err := startEmbeddedBroker(ctx, f, log)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, b.Close()) }()
		mopts.Brokers, mopts.Username, mopts.Password = []string{b.URL()}, user, pass
		fmt.Fprintf(env.Stdout, "embedded broker: HQ on %s", b.URL())
		if b.TLSURL() != "" {
			fmt.Fprintf(env.Stdout, ", posts on %s", b.TLSURL())
		}
		fmt.Fprintln(env.Stdout)
	}
	if f.tlsCA != "" {
		if mopts.TLS, err = mqtt.TLSConfig(f.tlsCert, f.tlsKey, f.tlsCA); err != nil {
			return err
		}
	}
	cli, err := mqtt.New(mopts)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = errors.Join(err, cli.Close(cctx))
	}()
	snapDir := f.snapshotDir
	if snapDir == "" {
		snapDir = filepath.Join(f.dataDir, snapshotDir)
	}
	if err := os.MkdirAll(snapDir, 0o750); err != nil {
		return err
	}
	deltaDir, uploadDir := filepath.Join(f.dataDir, deltasDir), filepath.Join(f.dataDir, uploadsDir)
	if err := os.MkdirAll(uploadDir, 0o700); err != nil {
		return err
	}
	pub, err := hq.New(hq.Config{
		Store: st, Signer: signer, Transport: cli,
		DeltaDir: deltaDir, SnapshotDir: snapDir, SnapshotBaseURL: f.snapshotURL,
		DeltaWindow: f.deltaWindow, HeadValidity: f.headValidity, Logger: log,
	})
	if err != nil {
		return err
	}
	srv, err := hqserver.New(hqserver.Config{
		Store: st, Transport: cli, Publisher: pub, SnapshotDir: snapDir, DeltaDir: deltaDir,
		UploadDir: uploadDir, MaxEditionSize: f.maxEditionSize,
		HeadInterval: f.headInterval, AdminToken: token, Logger: log,
		Retention: hqserver.Retention{Hits: f.retainHits.config(), Status: f.retainStatus.config(), Telemetry: f.retainTelemetry.config()},
	})
	if err != nil {
		return err
	}
	if err := cli.Start(); err != nil {
		return err
	}
	// Heads are re-signed as soon as Run starts: give the broker
	// connection a chance first. Without it serve still runs (snapshots,
	// deltas and queries do not need the broker) and the client keeps
	// trying; the failed re-sign is retried a minute later.
	if err := waitConnected(ctx, cli, f.connectTimeout); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("Broker not reachable yet; serving anyway", logkey.Broker, mopts.Brokers[0], logkey.Error, err.Error())
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", f.listen, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         httpsTLS,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "https"
	if httpsTLS == nil {
		scheme = "http"
	}
	fmt.Fprintf(env.Stdout, "serving %s://%s\n", scheme, ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr, runErr error
	wg.Go(func() {
		if httpsTLS != nil {
			httpErr = hs.ServeTLS(ln, "", "")
		} else {
			httpErr = hs.Serve(ln)
		}
		if errors.Is(httpErr, http.ErrServerClosed) {
			httpErr = nil
		}
		cancel() // a failed HTTP server stops serve
	})
	wg.Go(func() {
		runErr = srv.Run(ctx)
		cancel()
	})
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	shutErr := hs.Shutdown(sctx)
	scancel()
	wg.Wait()
	c := srv.Counts()
	log.Info("Stopped", logkey.Stored, c.Stored, logkey.Duplicates, c.Duplicates, logkey.Malformed, c.Malformed, logkey.Acks, c.AcksSent)
	if httpErr != nil {
		return fmt.Errorf("HTTP server: %w", httpErr)
	}
	return errors.Join(runErr, shutErr)
}

// startEmbeddedBroker starts the embedded broker and returns it with the
// credentials of HQ's own connection: a random password for the HQ
// account, valid for this run only.
func startEmbeddedBroker(ctx context.Context, f *serveFlags, log *slog.Logger) (*broker.Broker, string, string, error) {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, "", "", err
	}
	pass := hex.EncodeToString(secret)
	opts := broker.Options{
		Addr:                   f.listenMQTT,
		TLSAddr:                f.listenMQTTS,
		Users:                  map[string]string{broker.DefaultHQUsername: pass},
		PasswordFile:           f.mqttPasswordFile,
		AllowAnonymousLoopback: f.mqttAnonymousLoopback,
		DataDir:                filepath.Join(f.dataDir, brokerDir),
		Logger:                 log,
	}
	if f.listenMQTTS != "" {
		var err error
		if f.mqttClientCA != "" {
			opts.TLS, err = broker.ServerTLSConfig(f.mqttCert, f.mqttKey, f.mqttClientCA)
		} else {
			var cert tls.Certificate
			cert, err = tls.LoadX509KeyPair(f.mqttCert, f.mqttKey)
			opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		}
		if err != nil {
			return nil, "", "", fmt.Errorf("broker TLS: %w", err)
		}
	}
	b, err := broker.Start(ctx, opts)
	if err != nil {
		return nil, "", "", fmt.Errorf("embedded broker: %w", err)
	}
	return b, broker.DefaultHQUsername, pass, nil
}

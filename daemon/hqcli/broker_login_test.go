package hqcli

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
)

// hqAccount is the HQ account of the shipped Mosquitto acl.
const hqAccount = "watchpost-hq"

// startPasswordMosquitto runs Mosquitto as configs/mosquitto sets up HQ's
// side: a loopback listener without anonymous access, the password file
// made with mosquitto_passwd (the shipped steps) and the shipped acl. It
// returns the broker's URL.
func startPasswordMosquitto(t *testing.T, password string) string {
	t.Helper()
	if brokertest.MosquittoPath() == "" {
		t.Skip("mosquitto not found on PATH or at /usr/sbin/mosquitto; install it (apt-get install -y mosquitto)")
	}
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	mp, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd not found; it comes with mosquitto (apt-get install -y mosquitto)")
	}
	if out, err := exec.Command(mp, "-b", "-c", passwd, hqAccount, password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	acl, err := filepath.Abs(filepath.Join("..", "..", "configs", "mosquitto", "acl"))
	if err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	port := brokertest.FreePort(t)
	conf := strings.Join([]string{
		"user " + me.Username, // as root, Mosquitto would switch to user mosquitto
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"per_listener_settings false",
		"allow_anonymous false",
		"password_file " + passwd,
		"acl_file " + acl,
		"log_dest stderr",
		"log_type error",
	}, "\n") + "\n"
	return brokertest.StartMosquittoConfig(t, conf, port).URL()
}

// serve logs in to a password-protected broker with --broker-user and
// --broker-password-file, with the environment variables, or with the
// credentials in the URL, and never logs the password or the URL's
// credentials; a wrong password is reported, not logged.
func TestServeBrokerLogin(t *testing.T) {
	const password = "pw-Oh3eiNgi-hq"
	brokerURL := startPasswordMosquitto(t, password)
	dir := t.TempDir()
	key := keygen(t, dir)
	pwFile := filepath.Join(dir, "broker.pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong.pw")
	writeFile(t, wrongFile, "wrong-Zai7ahx\n")
	withCreds := strings.Replace(brokerURL, "tcp://", "tcp://"+hqAccount+":"+password+"@", 1)
	for _, c := range []struct {
		name      string
		env       map[string]string
		args      []string
		connected bool
	}{
		{"flags", nil, []string{"--broker", brokerURL, "--broker-user", hqAccount, "--broker-password-file", pwFile}, true},
		{"environment", map[string]string{EnvBrokerUser: hqAccount, EnvBrokerPassword: password}, []string{"--broker", brokerURL}, true},
		{"url", nil, []string{"--broker", withCreds}, true},
		{"wrong password", nil, []string{"--broker", brokerURL, "--broker-user", hqAccount, "--broker-password-file", wrongFile, "--connect-timeout", "1s"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			args := append([]string{"--data-dir", filepath.Join(t.TempDir(), "hq"), "--key", key, "--insecure-http", "--listen", "127.0.0.1:0"}, c.args...)
			_, _, log, stop := startServeLog(t, args...)
			want := "msg=connected"
			if !c.connected {
				want = "not Authorized"
			}
			testkit.CheckFor(t, 15*time.Second, want, func() error {
				if !strings.Contains(log.String(), want) {
					return fmt.Errorf("log:\n%s", log.String())
				}
				return nil
			})
			if code := stop(); code != ExitOK {
				t.Errorf("serve exited with %d", code)
			}
			out := log.String()
			for _, secret := range []string{password, "wrong-Zai7ahx", hqAccount + ":"} {
				if strings.Contains(out, secret) {
					t.Errorf("the log holds %q:\n%s", secret, out)
				}
			}
			if !strings.Contains(out, strings.TrimPrefix(brokerURL, "tcp://")) {
				t.Errorf("the log does not name the broker:\n%s", out)
			}
		})
	}
}

package msi

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestWXSIsXMLWithTheService(t *testing.T) {
	src, err := WXS(Input{Version: "1.2.3~rc1", MSIVersion: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services []struct {
			Arguments string `xml:"Arguments,attr"`
		} `xml:"Product>Directory>Directory>Directory>Component>ServiceInstall"`
	}
	if err := xml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Services) != 1 || doc.Services[0].Arguments != `run --service --config "[CommonAppDataFolder]Watchpost\watchpost.yaml"` {
		t.Errorf("ServiceInstall arguments: %+v", doc.Services)
	}
	for _, want := range []string{
		`UpgradeCode="` + UpgradeCode + `"`,
		`Version="1.2.3"`,
		`<ServiceInstall Id="WatchpostService" Name="watchpost"`,
		`Start="auto"`, `Account="LocalSystem"`,
		`Arguments="run --service --config &#34;[CommonAppDataFolder]Watchpost\watchpost.yaml&#34;"`,
		`<ServiceControl Id="WatchpostServiceControl" Name="watchpost" Stop="both" Remove="uninstall"`,
		`Key="SYSTEM\CurrentControlSet\Services\EventLog\Application\watchpost"`,
		`Value="` + EventMessageFile + `"`,
		`<Directory Id="ProgramFiles64Folder">`, `<Directory Id="CommonAppDataFolder">`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("WXS lacks %s", want)
		}
	}
}

var guid = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestProductCode(t *testing.T) {
	a, b := ProductCode("1.2.3"), ProductCode("1.2.4")
	if !guid.MatchString(a) || !guid.MatchString(b) {
		t.Fatalf("not GUIDs: %s %s", a, b)
	}
	if a == b || a != ProductCode("1.2.3") {
		t.Errorf("ProductCode must be stable per version and differ between versions: %s %s", a, b)
	}
}

func TestFixupsQuoting(t *testing.T) {
	for _, q := range Fixups(Input{MSIVersion: "1.2.3"}) {
		// MSI SQL strings are single-quoted and cannot escape a quote.
		if strings.Count(q, "'")%2 != 0 {
			t.Errorf("unbalanced quotes: %s", q)
		}
	}
	for _, ca := range CustomActions {
		if ca.Sequence <= 1500 || ca.Sequence >= 6600 {
			t.Errorf("%s: deferred actions must run between InstallInitialize and InstallFinalize, at %d", ca.ID, ca.Sequence)
		}
		if ca.Type&caInScript == 0 || ca.Type&caNoImpersonate == 0 {
			t.Errorf("%s: type %d is not deferred as LocalSystem", ca.ID, ca.Type)
		}
	}
}

// TestBuild runs wixl and msibuild when they are installed (packaging/ci.sh
// installs them and checks the tables of the real installer).
func TestBuild(t *testing.T) {
	for _, tool := range []string{"wixl", "msibuild", "msiinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	exe, cfg := filepath.Join(dir, "in.exe"), filepath.Join(dir, "in.yaml")
	if err := os.WriteFile(exe, []byte("MZ fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("post_id: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "w.msi")
	if err := Build(t.Context(), Input{Version: "1.2.3", MSIVersion: "1.2.3", Exe: exe, Config: cfg}, dir, out); err != nil {
		t.Fatal(err)
	}
	export := func(table string) string {
		b, err := exec.Command("msiinfo", "export", out, table).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(b), "\r", "")
	}
	if s := export("Component"); !strings.Contains(s, "Config\t{0D5B7E51-3C1A-4F6E-9B27-6A4C8E2F1D02}\tDATAROOT\t400\t") {
		t.Errorf("Config component not permanent and never-overwrite:\n%s", s)
	}
	if s := export("CustomAction"); strings.Count(s, "\t3106\t")+strings.Count(s, "\t3170\t") != len(CustomActions) {
		t.Errorf("custom actions:\n%s", s)
	}
	if s := export("ServiceInstall"); !strings.Contains(s, "WatchpostService\twatchpost\tWatchpost\t16\t2\t1\t\t\tLocalSystem\t\t"+ServiceArguments+"\t") {
		t.Errorf("ServiceInstall:\n%s", s)
	}
}

// TestStoreKeyAction: the store key is made only when there is none, next
// to the service's configuration, after the ACL is set and before the
// service may start; its failure is not ignored.
func TestStoreKeyAction(t *testing.T) {
	seq := map[string]CustomAction{}
	for _, ca := range CustomActions {
		seq[ca.ID] = ca
	}
	k, ok := seq["WatchpostStoreKey"]
	if !ok {
		t.Fatal("no WatchpostStoreKey custom action")
	}
	want := `"[System64Folder]cmd.exe" /c if not exist "[CommonAppDataFolder]Watchpost\store.key" ("[INSTALLDIR]watchpost.exe" config new-store-key "[CommonAppDataFolder]Watchpost\store.key")`
	if k.Command != want {
		t.Errorf("command\n%s\nwant\n%s", k.Command, want)
	}
	if k.Type != caDeferredCheck || k.Condition != notRemoving {
		t.Errorf("type %d condition %q", k.Type, k.Condition)
	}
	if !(seq["WatchpostLockDown"].Sequence < k.Sequence && k.Sequence < seq["WatchpostStartIfConfigured"].Sequence) {
		t.Errorf("sequence %d: want after WatchpostLockDown, before WatchpostStartIfConfigured", k.Sequence)
	}
}

// TestServiceConfigAction: the service's settings come from `watchpost
// service configure` (the code `watchpost service install` runs), after
// InstallServices (5800) and before the start; its failure (the quoted
// command line refused) fails the install, while the optional settings
// only warn inside it. No action runs `sc failure` or `sc failureflag`:
// Wine's sc has no failureflag, and a failing optional setting must not
// roll the install back.
func TestServiceConfigAction(t *testing.T) {
	seq := map[string]CustomAction{}
	for _, ca := range CustomActions {
		seq[ca.ID] = ca
		if strings.Contains(ca.Command, "sc.exe\" failure") {
			t.Errorf("%s runs sc failure/failureflag: %s", ca.ID, ca.Command)
		}
	}
	c, ok := seq["WatchpostServiceConfig"]
	if !ok {
		t.Fatal("no WatchpostServiceConfig custom action")
	}
	want := `"[INSTALLDIR]watchpost.exe" service configure --config "[CommonAppDataFolder]Watchpost\watchpost.yaml"`
	if c.Command != want {
		t.Errorf("command\n%s\nwant\n%s", c.Command, want)
	}
	if c.Type != caDeferredCheck || c.Condition != notRemoving {
		t.Errorf("type %d condition %q", c.Type, c.Condition)
	}
	if !(5800 < c.Sequence && c.Sequence < seq["WatchpostStartIfConfigured"].Sequence) {
		t.Errorf("sequence %d: want after InstallServices (5800), before WatchpostStartIfConfigured", c.Sequence)
	}
	if s := seq["WatchpostStartIfConfigured"]; s.Type&caIgnoreExit == 0 {
		t.Errorf("WatchpostStartIfConfigured (type %d) fails the install when the configuration is not ready", s.Type)
	}
}

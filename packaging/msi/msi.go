// Package msi makes Watchpost's Windows installer with wixl (msitools):
// it renders the WiX source, builds the .msi, and adds with msibuild the
// rows wixl's subset of WiX 3 cannot express (permanent, never-overwritten
// configuration; same-version major upgrades; deferred custom actions for
// the service's settings, the data directory's ACL, the store encryption
// key and a start that waits for a valid configuration).
package msi

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
)

// UpgradeCode identifies the Watchpost product family across versions:
// MajorUpgrade finds the installed version by it. Never change it.
const UpgradeCode = "6F1E2A4B-8C3D-4E5F-9A0B-1C2D3E4F5A6B"

// ServiceName is the Windows service (and Event Log source) name; the
// same as daemon/service.Name.
const ServiceName = "watchpost"

// EventMessageFile is the Event Log source's message file.
const EventMessageFile = `%SystemRoot%\System32\EventCreate.exe`

//go:embed watchpost.wxs.tmpl
var wxsTemplate string

var wxs = template.Must(template.New("wxs").Parse(wxsTemplate))

// Input is what one installer is made from.
type Input struct {
	// Version is the package version (shown in Programs and Features);
	// MSIVersion its numeric a.b.c form that Windows Installer compares.
	Version, MSIVersion string
	// Exe is the (signed) watchpost.exe; Config the configuration to
	// install when none is there yet. Build copies both into its work
	// directory (wixl takes only relative sources).
	Exe, Config string
}

// ProductCode is derived from the version: the same version always has
// the same ProductCode (so reinstalling it is a repair, not a second
// copy) and every other version a different one (a major upgrade).
func ProductCode(version string) string {
	sum := sha256.Sum256([]byte("watchpost msi product code\x00" + UpgradeCode + "\x00" + version))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50 // name-based, as a version 5 UUID
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// WXS renders the WiX source for in.
func WXS(in Input) ([]byte, error) {
	var args bytes.Buffer
	if err := xml.EscapeText(&args, []byte(ServiceArguments)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err := wxs.Execute(&b, map[string]string{
		"Arguments":        args.String(),
		"Version":          in.Version,
		"MSIVersion":       in.MSIVersion,
		"ProductCode":      ProductCode(in.Version),
		"UpgradeCode":      UpgradeCode,
		"Service":          ServiceName,
		"Exe":              "watchpost.exe",
		"Config":           "watchpost.yaml",
		"EventMessageFile": EventMessageFile,
	})
	return b.Bytes(), err
}

// Component attribute bits (msidbComponentAttributes*).
const (
	attr64bit          = 256
	attrPermanent      = 16
	attrNeverOverwrite = 128
)

// Custom action type bits: an executable run in a Directory (34),
// deferred (in script, 1024) as LocalSystem (no impersonation, 2048);
// +64 ignores its exit code, for an action the post works without.
const (
	caExeInDir      = 34
	caInScript      = 1024
	caNoImpersonate = 2048
	caIgnoreExit    = 64
	caDeferredCheck = caExeInDir | caInScript | caNoImpersonate
)

// CustomAction is one deferred command the installer runs as LocalSystem.
type CustomAction struct {
	ID        string
	Type      int
	Command   string // the formatted ExeCommand
	Sequence  int
	Condition string
	Why       string
}

// StoreKeyPath is the store encryption key the installer makes: next to
// the configuration (the service's --config), where the packaged
// configuration's relative store.encryption_key_file (store.key) points.
const StoreKeyPath = `[CommonAppDataFolder]Watchpost\store.key`

// notRemoving runs an action on install, repair and upgrade, not on
// uninstall.
const notRemoving = `NOT REMOVE~="ALL"`

// ConfigPath is the configuration the service runs with, as the
// installer formats it ([CommonAppDataFolder] ends with a backslash).
const ConfigPath = `[CommonAppDataFolder]Watchpost\watchpost.yaml`

// ServiceArguments follow the executable in the service's command line:
// --service makes `watchpost run` attach to the service control manager
// without guessing whether it was started by it.
const ServiceArguments = `run --service --config "` + ConfigPath + `"`

// CustomActions are the deferred commands added to the installer. They
// run after InstallServices (5800) and, for the start, after
// StartServices (5900), before InstallFinalize (6600).
var CustomActions = []CustomAction{
	{
		ID: "WatchpostServiceConfig", Type: caDeferredCheck, Sequence: 5810, Condition: notRemoving,
		Command: `"[INSTALLDIR]watchpost.exe" service configure --config "` + ConfigPath + `"`,
		Why: "the settings `watchpost service install` makes, by the same code: the command line with the executable in quotes " +
			"(Windows Installer under Wine writes it unquoted), which fails the install if refused; then, each only warned about " +
			"in the Application Event Log when refused (the post runs without them), the recovery actions (restart after 10 s, 60 s, " +
			"then 5 min; the count resets after a day), FailureActionsOnNonCrashFailures (a failed start, which kardianos reports as " +
			"a clean STOPPED, is restarted too) and delayed automatic start",
	},
	{
		ID: "WatchpostLockDown", Type: caDeferredCheck, Sequence: 5812, Condition: notRemoving,
		Command: `"[System64Folder]icacls.exe" "[DATAROOT]." /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F`,
		Why:     "%ProgramData%\\Watchpost (configuration and data) readable and writable by SYSTEM and Administrators only; the change propagates to the files and data directory inside",
	},
	{
		ID: "WatchpostStoreKey", Type: caDeferredCheck, Sequence: 5813, Condition: notRemoving,
		Command: `"[System64Folder]cmd.exe" /c if not exist "` + StoreKeyPath + `" ("[INSTALLDIR]watchpost.exe" config new-store-key "` + StoreKeyPath + `")`,
		Why: "make the store encryption key the packaged configuration names (store.encryption_key_file: store.key) when there is none: " +
			"never overwritten (an upgrade or repair keeps it; an uninstall leaves it); after WatchpostLockDown, so it inherits the SYSTEM and Administrators only ACL; " +
			"a failure fails the install (the configuration would name a missing key)",
	},
	{
		ID: "WatchpostStartIfConfigured", Type: caDeferredCheck | caIgnoreExit, Sequence: 5910, Condition: notRemoving,
		Command: `"[System64Folder]cmd.exe" /c ""[INSTALLDIR]watchpost.exe" config check --config "[DATAROOT]watchpost.yaml" && "[System64Folder]sc.exe" start ` + ServiceName + `"`,
		Why:     "start the service only when the configuration passes `watchpost config check` (never on a fresh install, whose example configuration has no post_id)",
	},
}

// Fixups are the msibuild SQL statements applied to wixl's output for in.
func Fixups(in Input) []string {
	q := []string{
		// The configuration: never overwritten by an upgrade or repair,
		// never removed by an uninstall (wixl ignores NeverOverwrite and
		// Permanent).
		fmt.Sprintf("UPDATE `Component` SET `Attributes` = %d WHERE `Component` = 'Config'", attr64bit|attrPermanent|attrNeverOverwrite),
		// The data directory: left in place by an uninstall.
		fmt.Sprintf("UPDATE `Component` SET `Attributes` = %d WHERE `Component` = 'DataDir'", attr64bit|attrPermanent),
		// AllowSameVersionUpgrades (VersionMaxInclusive, 512): two builds
		// with the same numeric version upgrade in place instead of
		// installing side by side. Attributes is part of the Upgrade
		// table's key, so the row is replaced, with MigrateFeatures (1).
		"DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'",
		fmt.Sprintf("INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, `ActionProperty`) VALUES ('{%s}', '%s', 513, 'WIX_UPGRADE_DETECTED')", UpgradeCode, in.MSIVersion),
		// Schedule the old version's removal before the new install
		// (WiX's afterInstallValidate): the service is stopped, deleted
		// and recreated cleanly; the configuration and data stay
		// (permanent components).
		"UPDATE `InstallExecuteSequence` SET `Sequence` = 1401 WHERE `Action` = 'RemoveExistingProducts'",
		// REG_EXPAND_SZ ("#%" prefix), as eventlog.InstallAsEventCreate
		// writes it: wixl ignores Type="expandable" and writes REG_SZ.
		"UPDATE `Registry` SET `Value` = '#%" + EventMessageFile + "' WHERE `Name` = 'EventMessageFile'",
	}
	for _, ca := range CustomActions {
		q = append(q,
			fmt.Sprintf("INSERT INTO `CustomAction` (`Action`, `Type`, `Source`, `Target`) VALUES ('%s', %d, 'INSTALLDIR', '%s')", ca.ID, ca.Type, ca.Command),
			fmt.Sprintf("INSERT INTO `InstallExecuteSequence` (`Action`, `Condition`, `Sequence`) VALUES ('%s', '%s', %d)", ca.ID, ca.Condition, ca.Sequence),
		)
	}
	return q
}

// Build renders the source into work and writes the installer to out.
func Build(ctx context.Context, in Input, work, out string) error {
	src, err := WXS(in)
	if err != nil {
		return err
	}
	work = filepath.Join(work, "msi")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	for src, name := range map[string]string{in.Exe: "watchpost.exe", in.Config: "watchpost.yaml"} {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(work, "watchpost.wxs"), src, 0o644); err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	_ = os.Remove(out)
	if err := runIn(ctx, work, "wixl", "--arch", "x64", "-o", out, "watchpost.wxs"); err != nil {
		return err
	}
	for _, q := range Fixups(in) {
		if err := runIn(ctx, work, "msibuild", out, "-q", q); err != nil {
			return err
		}
	}
	return nil
}

func runIn(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, strings.TrimSpace(string(out)))
	}
	// wixl reports unsupported attributes as GLib warnings and carries
	// on: treat them as errors, so nothing is silently dropped.
	if bytes.Contains(out, []byte("WARNING")) || bytes.Contains(out, []byte("CRITICAL")) {
		return fmt.Errorf("%s: %s", name, strings.TrimSpace(string(out)))
	}
	return nil
}

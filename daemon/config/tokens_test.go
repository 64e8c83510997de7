package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/api"
)

// TestTokenMinLength: `config check` refuses an API token shorter than
// MinTokenLen, naming the tokens file, the line and the token's name but
// never the token, and accepts one of MinTokenLen; daemon/api draws the
// line at the same length, so config check says it first.
func TestTokenMinLength(t *testing.T) {
	short := "SECRET" + strings.Repeat("s", MinTokenLen-1-len("SECRET"))
	long := "SECRET" + strings.Repeat("l", MinTokenLen-len("SECRET"))
	path := writeConfig(t, minimal+"api:\n  listen: 0.0.0.0:8640\n  tokens_file: tokens.txt\n")
	tokens := filepath.Join(filepath.Dir(path), "tokens.txt")
	writeFile(t, tokens, "# clients\nops:"+long+"\ngate-2:"+short+"\n", 0o600)

	cfg, problems := Check(path, Options{})
	all := errors.Join(toErrs(problems)...).Error()
	want := tokens + `:3: api.tokens_file: token "gate-2" is 15 characters; want at least 16`
	if len(problems) != 1 || problems[0].Warning || problems[0].File != tokens || problems[0].Line != 3 || !strings.Contains(all, want) {
		t.Errorf("problems:\n%s\nwant one error: %s", all, want)
	}
	if strings.Contains(all, "SECRET") {
		t.Errorf("a token leaked into a problem:\n%s", all)
	}
	if len(cfg.API.Tokens) != 1 || cfg.API.TokenNames[0] != "ops" {
		t.Errorf("tokens kept: %v", cfg.API.TokenNames)
	}

	// From the environment: the variable and the entry are named.
	_, problems = Check(path, Options{Env: mapEnv(map[string]string{EnvAPITokens: "ops:" + long + ",gate-2:" + short})})
	all = errors.Join(toErrs(problems)...).Error()
	if want := "env " + EnvAPITokens + `: api.tokens[1]: token "gate-2" is 15 characters`; len(problems) != 1 || !strings.Contains(all, want) || strings.Contains(all, "SECRET") {
		t.Errorf("problems:\n%s\nwant: %s", all, want)
	}

	// The API refuses what config check refuses, and takes what it takes.
	opts := func(secret string) api.Options {
		return api.Options{Screener: nopAPI{}, Ledger: nopAPI{}, Status: nopAPI{}, Readiness: nopAPI{},
			Tokens: []api.Token{{Name: "gate-2", Secret: secret}}}
	}
	if _, err := api.New(opts(short)); err == nil {
		t.Errorf("api.New took a %d-character token", len(short))
	}
	if _, err := api.New(opts(long)); err != nil {
		t.Errorf("api.New refused a %d-character token: %v", len(long), err)
	}
}

// nopAPI fills api.Options for New, which only checks the options.
type nopAPI struct {
	api.Screener
	api.Ledger
	api.StatusSource
	api.Readiness
}

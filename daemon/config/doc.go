// Package config reads a post's configuration. Its one job is to turn the
// YAML file, the WATCHPOST_* environment and the defaults into one checked
// Config, reporting every problem with the key and the line, and keeping
// secrets out of every message.
//
// # Precedence
//
// This is the one place the rule is written down; `watchpost config
// show` prints where each effective value came from.
//
//	value of a key:       default < configuration file < WATCHPOST_* variable
//	configuration file:   --config FILE > $WATCHPOST_CONFIG > paths.DefaultConfigFile()
//	                      (/etc/watchpost/watchpost.yaml, %ProgramData%\Watchpost\watchpost.yaml)
//
// A variable replaces the file's value of its key; a list variable
// (WATCHPOST_HQ_BROKERS, WATCHPOST_LISTS, WATCHPOST_HQ_KEYS) replaces the
// whole list and is comma-separated. An empty variable counts as unset,
// and so does a key written with no value ("listen:"); "off" disables the
// API.
//
// # Variable names
//
// Every key has one: WATCHPOST_ followed by its dotted path in upper case,
// dots as underscores (EnvName): post_id is WATCHPOST_POST_ID, hq.brokers
// WATCHPOST_HQ_BROKERS, api.listen WATCHPOST_API_LISTEN, outbox.budget
// WATCHPOST_OUTBOX_BUDGET. Keys lists them all.
//
// # Secrets
//
// The store encryption key, the broker password and the API tokens are
// never written in the YAML: they are read from the files
// store.encryption_key_file, hq.password_file and api.tokens_file name,
// or from WATCHPOST_STORE_ENCRYPTION_KEY, WATCHPOST_HQ_PASSWORD and
// WATCHPOST_API_TOKENS (comma-separated name:token entries), which win
// over the files. Each variable is its key's name by the rule above
// (store.encryption_key, hq.password, api.tokens). The store key is 64
// hex digits or the base64 of 32 bytes (AES-256; ParseStoreKey), and its
// file draws a warning when anyone but its owner may read it. They are
// held as Secret, which prints, logs and marshals as "[redacted]";
// Secret.Reveal is the only way to the value.
//
// # Files
//
// A relative path in store.encryption_key_file, hq.*_file or
// api.tokens_file (from the file or a variable) is taken relative to the
// configuration file's directory; data_dir and intake.dir must be
// absolute.
//
// # Problems
//
// Load returns every problem joined into one error; Check returns them as
// a list, warnings included (a warning does not stop the daemon). Unknown
// keys are errors, with a "did you mean" for a near miss. Problems are
// formatted "watchpost.yaml:12: hq.brokers[1]: …", or "env
// WATCHPOST_HQ_BROKERS: hq.brokers[1]: …" when the value came from the
// environment.
package config

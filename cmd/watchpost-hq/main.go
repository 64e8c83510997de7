// Command watchpost-hq is headquarters' side of Watchpost: it makes the
// signing key and publishes signed watchlist editions to the posts. All
// work happens in daemon/hqcli; this main only hands over the arguments
// and the exit code.
package main

import (
	"os"

	"github.com/watchpost/watchpost/daemon/hqcli"
)

func main() {
	os.Exit(hqcli.Main(os.Args[1:], &hqcli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}

// Command watchpost is the border-post screening appliance: it imports
// watchlists, screens travellers and runs the demo. All work happens in
// daemon/cli; this main only hands over the arguments and the exit code.
package main

import (
	"os"

	"github.com/watchpost/watchpost/daemon/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}

// Package service runs Watchpost under the operating system's service
// manager and in the foreground, through one adapter over
// github.com/kardianos/service; it also installs, controls and describes
// that service (including the hardened systemd unit that packaging ships).
//
// # Lifecycle
//
// The post is a Runner: Run blocks until its context ends, calls ready
// once the store is open and screening is possible, and does its own
// two-stage stop when the context is cancelled. Run (this package's)
// adapts it to kardianos:
//
//   - How it runs is decided once (ModeFor), not guessed by kardianos: the
//     installed Windows service's command line carries --service, which
//     dispatches the process to the service control manager through
//     kardianos's own SCM handler; svc.IsWindowsService, which is false
//     under Wine and wrong in some containers, is asked only when the
//     flag is absent (a service installed by an older version). Without
//     the flag, and on POSIX, the post runs in the foreground, which is
//     also how systemd runs it.
//   - Start launches Runner.Run in a tracked goroutine and waits for
//     ready, for Run's early failure, or for ReadyTimeout, whichever comes
//     first. kardianos reports SERVICE_RUNNING to the Windows SCM as soon
//     as Start returns (its Execute), so waiting here is
//     what makes "running" mean "screening is possible". On systemd the
//     unit is Type=notify and READY=1 is sent at the same moment. If the
//     Runner is still not ready after ReadyTimeout (a large store being
//     replayed), the service is reported running anyway and keeps
//     starting: failing the start would only make the service manager
//     kill and restart a slow but healthy open, forever. The local API's
//     /readyz tells the truth in the meantime.
//   - An error from Runner.Run before ready fails the start: kardianos
//     returns it from Service.Run, and the process exits with its code.
//   - Stop cancels the context and waits up to StopTimeout for Run to
//     return; past that, or on a second SIGINT/SIGTERM in the foreground,
//     it returns an error and the process exits 1 without waiting.
//   - If Run returns on its own after ready, that is a failure: on POSIX
//     the adapter stops as if signalled and exits non-zero; on Windows,
//     where kardianos offers no way to end the SCM dispatcher, the process
//     exits immediately, which the SCM treats as a crash and restarts.
//
// # Exit codes
//
// The process exit code is a contract with the service manager and with
// scripts (the constants below; daemon/cmdline holds the same values):
//
//	0  ExitOK       stopped cleanly (or a command succeeded)
//	1  ExitFailure  runtime failure; restarted by the service manager
//	2  ExitUsage    bad command line; not restarted (systemd)
//	3  ExitConfig   configuration missing or invalid; not restarted (systemd)
//	4  ExitStore    store cannot be opened or is locked; restarted
//	5  ExitDataDir  data directory missing or not writable; restarted
//
// A Runner picks the code by returning an error that wraps an *ExitError
// (WithExitCode); any other error is ExitFailure. On Windows the SCM only
// ever sees kardianos's own service-specific code 1 (failed start) or 2
// (failed stop); the codes above are the process's exit status.
//
// # Restart on failure
//
// systemd: Restart=on-failure, RestartSec=10, no start-rate limit, and
// RestartPreventExitStatus=2 3. Windows: configure (run by Install and by
// the .msi) sets three recovery actions (restart after 10 s, 60 s, 5 min;
// the count resets after a day) and FailureActionsOnNonCrashFailures, so
// a failed start (which kardianos reports as a clean STOPPED with code 1)
// is restarted too; a configuration error is therefore retried every 5
// minutes on Windows. These, and delayed automatic start, are optional:
// a Windows (or Wine) that refuses one gets a warning on stderr and in the
// Event Log, and the service stays installed without it. The quoted
// command line is not optional.
//
// # Logs
//
// LogHandler picks the destination: stderr in the foreground; under
// systemd (JOURNAL_STREAM set) stderr with syslog priority prefixes and
// no timestamps, since journald adds both; as a Windows service the
// Application Event Log, source "watchpost". The source is registered by
// `watchpost service install` (kardianos calls
// eventlog.InstallAsEventCreate) and must be registered by the MSI too
// when the service is installed that way, or entries show "the
// description cannot be found". Every destination is rate-limited
// (daemon/logging).
package service

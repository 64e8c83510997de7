// Package web is the foundation of Watchpost's browser consoles and the
// officer's console built on it. Its one job: serve server-rendered pages
// to people — accounts with hashed passwords, server-side sessions,
// CSRF protection, idle timeout and lockout, the six UN languages, and
// every template, message catalog and asset (CSS, a little JavaScript,
// icons) embedded in the binary — so that the post's console and HQ's
// console share one implementation.
//
// The package knows no concrete screening, ledger or sync type: each
// console declares the small interfaces it consumes (the officer
// console's are in officer.go) and the wiring in daemon/ provides them.
//
// # Security
//
//   - Passwords are hashed with argon2id (golang.org/x/crypto/argon2) in
//     a self-describing string, so parameters can be raised later. They
//     are never logged or kept in a session.
//   - Sessions live in memory on the server; the browser holds only a
//     random token in an HttpOnly, SameSite=Strict cookie (Secure when
//     the request came over TLS). A session ends after the idle timeout
//     (DefaultIdleTimeout), after MaxSessionAge, at logout, or when the
//     process stops. Time comes from an injected clock.Clock.
//   - Every form carries a CSRF token bound to the session (the login
//     form one bound to a short-lived cookie); a POST without the right
//     token is refused with 403, and so is one whose Origin names another
//     site.
//   - MaxFailures wrong passwords in a row lock an account for
//     LockoutDuration; a new password (the CLI's passwd) unlocks it.
//   - Every page is sent with a strict Content-Security-Policy (no inline
//     script or style, nothing from another origin) and pages are never
//     cached (Cache-Control: no-store): they may show personal data.
//
// # Languages
//
// Every string shown comes from a message catalog (catalog/<lang>.json
// for ar, en, es, fr, ru, zh). The language is the user's choice if they
// made one, else the best match of the browser's Accept-Language, else
// English. Arabic pages are laid out right to left. A template that asks
// for a key the catalog lacks fails to render (the page is a 500, never
// a page with a hole), and a test fails when any catalog lacks a key
// another has. Names, MRZ lines and document numbers are shown exactly as
// written; dates are YYYY-MM-DD everywhere.
package web

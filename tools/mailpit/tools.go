//go:build tools

// Package tools pins the Mailpit SMTP server that the e-mail adapter's
// integration tests run (scripts/mailpit.sh builds it into bin/mailpit). It
// lives in its own module so that Mailpit's dependencies never enter the main
// module's go.mod.
package tools

import (
	_ "github.com/axllent/mailpit"
)

//go:build tools

// Package tools pins the Consul server that the integration tests run
// (scripts/consul.sh builds it into bin/consul). It lives in its own module so
// that Consul's dependencies never enter the main module's go.mod.
package tools

import (
	_ "github.com/hashicorp/consul"
)

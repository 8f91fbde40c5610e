// Package examples embeds the example province that `switchboard serve --demo`
// loads and the sample tickets it files, so the demo needs no other file.
package examples

import _ "embed"

// Province is province.yaml: the example province's units.
//
//go:embed province.yaml
var Province []byte

// Tickets is demo-tickets.yaml: sample citizen requests filed at demo start.
//
//go:embed demo-tickets.yaml
var Tickets []byte

// Model is model.conf: the Casbin access model (RBAC with domains over the
// unit tree, with conditions on ticket attributes).
//
//go:embed model.conf
var Model string

// Policy is policy.csv: the example province's roles and the demo
// principals' grants, as a standard Casbin policy file.
//
//go:embed policy.csv
var Policy []byte

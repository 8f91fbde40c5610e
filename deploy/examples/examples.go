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

// Command switchboard is the 12345 front door: `switchboard serve` runs the
// server; the other subcommands are operators' and administrators' clients of
// its API, and `switchboard bench` measures it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `switchboard — the single-number (12345) government hotline front door

Usage:
  switchboard serve [--config FILE] [--data DIR] [--http ADDR] [--grpc ADDR] [--demo]
  switchboard ticket <create|get|list|events|dispatch|sign|return|request-extension|
                      decide-extension|supervise|reply|visit|reopen|close|answer|reclassify> [flags]
  switchboard registry <import|export|list|show|set-status|history|report> [flags]
  switchboard dispatch <status|dead-letters|redrive> [flags]
  switchboard inbox <list|claim|ack> --unit UNIT [flags]
  switchboard auth <whoami|principal|grant|revoke|policy|who-can-see|can|token|audit> [flags]
  switchboard category <list|show|search|import|versions> [flags]   the category tree (taxonomy)
  switchboard kb <search|show|list|add|update|delete|import> [flags]   the knowledge base (答复口径)
  switchboard bench intake [flags]     intake throughput and latency
  switchboard bench dispatch [flags]   zero loss under kill -9, isolation, breaker, retries, delivery latency
  switchboard bench access [flags]     Enforce latency and filtered pages over a generated province (up to 10M tickets)
  switchboard bench kb [flags]         knowledge-base search latency over 10,000 entries, and its relevance
  switchboard classify <train|eval|predict> [flags]   learn text → category/unit from past tickets
  switchboard entities <extract|eval> [flags]   phones, IDs, addresses, places, organisations, dates, amounts in a text
  switchboard version

Run "switchboard <command> -h" for a command's flags.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:], stderr)
	case "ticket", "tickets":
		return ticketCmd(ctx, args[1:], stdout, stderr)
	case "registry":
		return registryCmd(ctx, args[1:], stdout, stderr)
	case "dispatch":
		return dispatchCmd(ctx, args[1:], stdout, stderr)
	case "inbox":
		return inboxCmd(ctx, args[1:], stdout, stderr)
	case "auth":
		return authCmd(ctx, args[1:], stdout, stderr)
	case "category", "categories":
		return categoryCmd(ctx, args[1:], stdout, stderr)
	case "kb":
		return kbCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "classify":
		return classifyCmd(ctx, args[1:], stdout, stderr)
	case "entities":
		return entitiesCmd(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "switchboard", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/switchboard12345/switchboard/classify"
	"github.com/switchboard12345/switchboard/gateway/assist"
	"github.com/switchboard12345/switchboard/gateway/config"
	"github.com/switchboard12345/switchboard/gateway/ticket"
	"github.com/switchboard12345/switchboard/store"
)

const feedbackUsage = `Usage: switchboard classify feedback --out FILE [--field category|unit] [--config FILE] [--data DIR]

Exports the operators' verdicts on intake's suggestions from the store, as the
next training's data: for every ticket filed with suggestions and since given
its final category (or handling unit, with --field unit), one row of
time,text,label,suggested,confidence,corrected,auto,operator — train on it with
  switchboard classify train --data FILE --text-column text --label-column label --out MODEL
Works on the store directly, like auth bootstrap.
`

// classifyFeedback is `switchboard classify feedback`.
func classifyFeedback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify feedback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, feedbackUsage) }
	configPath := fs.String("config", "", "YAML config `file`")
	dataDir := fs.String("data", "", "data `directory` (default ./data)")
	out := fs.String("out", "", "CSV `file` to write (- for standard output)")
	field := fs.String("field", "category", "what the model learns: category or unit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 || (*field != "category" && *field != "unit") {
		fs.Usage()
		return usageError{"classify feedback needs --out FILE and --field category or unit"}
	}
	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	st, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	var w io.Writer = stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	fw, err := classify.NewFeedbackWriter(w, true)
	if err != nil {
		return err
	}
	n, corrected := 0, 0
	q := store.Query{PageSize: 500}
	for {
		p, err := st.ListTickets(ctx, q)
		if err != nil {
			return err
		}
		for _, t := range p.Tickets {
			f, ok := ticketVerdict(t, *field)
			if !ok {
				continue
			}
			if err := fw.Write(f); err != nil {
				return err
			}
			n++
			if f.Label != f.Suggested {
				corrected++
			}
		}
		if !p.More {
			break
		}
		q.After = p.Tickets[len(p.Tickets)-1].ID
	}
	fmt.Fprintf(stderr, "%d verdicts written (%d corrections)\n", n, corrected)
	return nil
}

// ticketVerdict is a ticket's feedback on its top suggestion for field, when it
// had one and has a final value.
func ticketVerdict(t ticket.Ticket, field string) (classify.Feedback, bool) {
	guesses, label := t.Suggested.Categories, t.Category
	if field == "unit" {
		guesses, label = t.Suggested.Units, t.HandlingUnit
	}
	if len(guesses) == 0 || label == "" {
		return classify.Feedback{}, false
	}
	return classify.Feedback{At: t.CreateTime, Text: assist.Text(t), Suggested: guesses[0].Code, Confidence: guesses[0].Confidence,
		Label: label, Auto: t.Suggested.Auto}, true
}

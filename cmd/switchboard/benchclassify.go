package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/switchboard12345/switchboard/classify"
	"github.com/switchboard12345/switchboard/kb/kbtest"
)

const benchClassifyUsage = `Usage: switchboard bench classify [--messages 10000] [--queries 2000]

Measures the classifier at a deployment's scale: a training history of --messages
citizen messages (the Teddy Cup 2020 C messages of shared/datasets/teddy2020c:
train.csv with its labels, then the other releases' messages — the unlabelled test
set, the hot-issue and the replied messages — labelled by a model trained on
train.csv), trained on every CPU and on one (GOMAXPROCS=1); then the latency of one
prediction (p50, p99, max; one goroutine) over --queries messages the model did not
see. The goal is training under 30 s on 10,000 messages and at most 1 ms a message.
`

// teddyReleases are the Teddy files whose messages (subject + text) grow the
// history past train.csv.
var teddyReleases = []string{
	"datasets/teddy2020c/attachment2_test_unlabelled.csv",
	"datasets/teddy2020c/attachment3_hot_issue_messages.csv",
	"datasets/teddy2020c/attachment4_messages_with_replies.csv",
}

func benchClassifyCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchClassifyUsage) }
	messages := fs.Int("messages", 10000, "messages in the training history (at most 12000: what the shared data holds)")
	queries := fs.Int("queries", 2000, "predictions to time (at most 100000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *messages < 100 || *messages > 12000 || *queries < 1 || *queries > 100000 {
		return usageError{"bench classify: --messages 100–12000, --queries 1–100000"}
	}
	trainPath, ok := kbtest.FindShared("datasets/teddy2020c/train.csv")
	if !ok {
		return errors.New("bench classify: shared/datasets/teddy2020c/train.csv not found (set SWITCHBOARD_SHARED to the shared folder)")
	}
	f, err := os.Open(trainPath)
	if err != nil {
		return err
	}
	labelled, err := classify.ReadCSV(f, classify.CSVSpec{TextColumns: []string{"text"}, LabelColumn: "label"})
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", trainPath, err)
	}
	var texts []string
	for _, rel := range teddyReleases {
		p, ok := kbtest.FindShared(rel)
		if !ok {
			return fmt.Errorf("bench classify: shared/%s not found", rel)
		}
		t, err := readMessages(p)
		if err != nil {
			return err
		}
		texts = append(texts, t...)
	}
	cfg := classify.DefaultConfig()
	seedModel, err := classify.Train(labelled, cfg, classify.TrainOptions{})
	if err != nil {
		return err
	}
	history := slices.Clone(labelled)
	var unseen []string
	for _, t := range texts {
		if len(history) < *messages {
			history = append(history, classify.Example{Text: t, Label: seedModel.Predict(t, 1)[0].Label})
		} else {
			unseen = append(unseen, t)
		}
	}
	history = history[:min(len(history), *messages)]
	fmt.Fprintf(stdout, "history: %d messages (%d labelled in train.csv, the rest labelled by a model trained on it); %d messages left unseen\n",
		len(history), len(labelled), len(unseen))

	var m *classify.Model
	for _, procs := range []int{runtime.GOMAXPROCS(0), 1} {
		prev := runtime.GOMAXPROCS(procs)
		runtime.GC()
		start := time.Now()
		m, err = classify.Train(history, cfg, classify.TrainOptions{Now: time.Now()})
		elapsed := time.Since(start)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "training on %d CPU(s): %s (%d internal folds + the final fit; internal CV macro-F1 %.4f)\n",
			procs, elapsed.Round(time.Millisecond), cfg.Folds, m.Meta.CV.MacroF1)
	}
	file, err := os.CreateTemp("", "bench-classify-*.sbm")
	if err != nil {
		return err
	}
	file.Close()
	defer os.Remove(file.Name())
	if err := m.SaveFile(file.Name()); err != nil {
		return err
	}
	if st, err := os.Stat(file.Name()); err == nil {
		fmt.Fprintf(stdout, "model file: %.1f MiB\n", float64(st.Size())/(1<<20))
	}

	if len(unseen) == 0 {
		for _, e := range labelled {
			unseen = append(unseen, e.Text)
		}
	}
	lat := make([]time.Duration, 0, *queries)
	for i := 0; i < *queries; i++ {
		t := unseen[i%len(unseen)]
		start := time.Now()
		m.Predict(t, 3)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(stdout, "prediction (top 3, one goroutine, %d messages): p50 %s, p99 %s, max %s\n",
		len(lat), q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	return nil
}

// readMessages returns the subject and text of each message of a Teddy
// release (columns 留言主题 and 留言详情).
func readMessages(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	subject, text := slices.Index(rows[0], "留言主题"), slices.Index(rows[0], "留言详情")
	if subject < 0 || text < 0 {
		return nil, fmt.Errorf("%s: no columns 留言主题 and 留言详情 in %q", path, rows[0])
	}
	out := make([]string, 0, len(rows)-1)
	for _, r := range rows[1:] {
		out = append(out, r[subject]+"\n"+r[text])
	}
	return out, nil
}

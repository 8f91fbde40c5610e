package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/entity"
)

const entitiesUsage = `Usage: switchboard entities <extract|eval> [flags]

  extract  print the entities of a text and the ticket fields they suggest, as JSON
           --text TEXT (- reads standard input) [--now YYYY-MM-DD] [--places FILE]
  eval     score the extractor on an annotated sample: precision, recall and F1
           per type, exact span and overlap
           [--data entity/testdata/annotated.jsonl] [--split all|dev|test]
           [--places FILE] [--errors]

FILE lists known place names (unit names, roads, estates), one a line.
ID numbers print masked unless --show-pii is given.
`

func entitiesCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, entitiesUsage)
		return usageError{"entities: an action is needed: extract or eval"}
	}
	switch args[0] {
	case "extract":
		return entitiesExtract(args[1:], stdout, stderr)
	case "eval":
		return entitiesEval(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, entitiesUsage)
		return nil
	}
	fmt.Fprint(stderr, entitiesUsage)
	return usageError{fmt.Sprintf("entities: unknown action %q", args[0])}
}

func entitiesExtract(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("entities extract", flag.ContinueOnError)
	fs.SetOutput(stderr)
	text := fs.String("text", "", "the message `text` (- reads standard input)")
	nowFlag := fs.String("now", "", "reference `date` of relative dates, YYYY-MM-DD (default: today)")
	placesFile := fs.String("places", "", "`file` of known place names, one a line")
	showPII := fs.Bool("show-pii", false, "print ID numbers unmasked")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *text == "" {
		return usageError{"extract needs --text"}
	}
	if *text == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
		*text = string(b)
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.ParseInLocation("2006-01-02", *nowFlag, time.FixedZone("CST", 8*3600))
		if err != nil {
			return usageError{fmt.Sprintf("--now: %v", err)}
		}
		now = t
	}
	places, err := readPlaces(*placesFile)
	if err != nil {
		return err
	}
	ents := entity.Extract(*text, entity.Options{Now: now, Places: places})
	fields := entity.Fill(ents)
	if !*showPII {
		for i := range ents {
			if ents[i].Type == entity.IDNumber {
				ents[i].Text, ents[i].Value = ents[i].Masked, ents[i].Masked
			}
		}
		fields.IDNumber = fields.IDNumberMasked
	}
	if ents == nil {
		ents = []entity.Entity{}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Entities []entity.Entity `json:"entities"`
		Fields   entity.Fields   `json:"fields"`
	}{ents, fields})
}

func entitiesEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("entities eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "entity/testdata/annotated.jsonl", "annotated sample `file` (JSON lines)")
	split := fs.String("split", "all", "which messages: all, dev or test")
	placesFile := fs.String("places", "", "`file` of known place names, one a line")
	showErrors := fs.Bool("errors", false, "also list every difference from the annotation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *split != "all" && *split != "dev" && *split != "test" {
		return usageError{"--split is all, dev or test"}
	}
	f, err := os.Open(*data)
	if err != nil {
		return err
	}
	defer f.Close()
	all, err := entity.ReadSamples(f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", *data, err)
	}
	var samples []entity.Sample
	for _, s := range all {
		if err := entity.CheckSample(s); err != nil {
			return fmt.Errorf("%s: message %s %s: %w", *data, s.Source, s.ID, err)
		}
		if *split == "all" || s.Split == *split {
			samples = append(samples, s)
		}
	}
	places, err := readPlaces(*placesFile)
	if err != nil {
		return err
	}
	start := time.Now()
	rep := entity.Evaluate(samples, places)
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%d messages (%s split) from %s; exact: same type and span; overlap: same type, spans overlap\n\n", rep.Messages, *split, *data)
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if rep.Messages > 0 {
		fmt.Fprintf(stdout, "\nvalue ok: exact matches whose normalised value equals the annotated one\nevaluation took %v, %.1f µs a message\n", elapsed.Round(time.Millisecond), float64(elapsed.Microseconds())/float64(rep.Messages))
	}
	if *showErrors {
		fmt.Fprintln(stdout)
		rep.WriteErrors(stdout)
	}
	return nil
}

// readPlaces reads place names, one a line; blank lines and lines starting
// with # are skipped. An empty path means none.
func readPlaces(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}

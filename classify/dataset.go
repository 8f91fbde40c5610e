package classify

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// CSVSpec says which columns of a CSV file (UTF-8, with a header row) make
// the examples.
type CSVSpec struct {
	// TextColumns are joined, in order, by a newline into the text.
	TextColumns []string
	// LabelColumn holds the label; rows with an empty label are skipped.
	LabelColumn string
	// TimeColumn, optional, holds the date (YYYY-MM-DD, "YYYY-MM-DD
	// HH:MM:SS" or RFC 3339); an empty or unparsable cell leaves Time zero.
	TimeColumn string
}

// ReadCSV reads examples. A missing column is an error that names it and
// lists the header.
func ReadCSV(r io.Reader, spec CSVSpec) ([]Example, error) {
	if len(spec.TextColumns) == 0 {
		return nil, errors.New("no text column given")
	}
	if spec.LabelColumn == "" {
		return nil, errors.New("no label column given")
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the CSV file is empty: it needs a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	find := func(name, role string) (int, error) {
		i, ok := col[name]
		if !ok {
			return 0, fmt.Errorf("%s column %q is not in the CSV header (columns: %s)", role, name, strings.Join(header, ", "))
		}
		return i, nil
	}
	var textIdx []int
	for _, c := range spec.TextColumns {
		i, err := find(c, "text")
		if err != nil {
			return nil, err
		}
		textIdx = append(textIdx, i)
	}
	labelIdx, err := find(spec.LabelColumn, "label")
	if err != nil {
		return nil, err
	}
	timeIdx := -1
	if spec.TimeColumn != "" {
		if timeIdx, err = find(spec.TimeColumn, "time"); err != nil {
			return nil, err
		}
	}
	cell := func(rec []string, i int) string {
		if i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Example
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the CSV: %w", err)
		}
		label := cell(rec, labelIdx)
		if label == "" {
			continue
		}
		parts := make([]string, 0, len(textIdx))
		for _, i := range textIdx {
			if s := cell(rec, i); s != "" {
				parts = append(parts, s)
			}
		}
		e := Example{Text: strings.Join(parts, "\n"), Label: label}
		if timeIdx >= 0 {
			e.Time, _ = ParseDate(cell(rec, timeIdx))
		}
		out = append(out, e)
	}
	return out, nil
}

// ParseDate reads YYYY-MM-DD, "YYYY-MM-DD HH:MM:SS" or RFC 3339 (UTC when
// no zone is given).
func ParseDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", time.RFC3339, "2006/1/2", "2006/1/2 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
}

// forwardingMarks are the words that, in a label, name a forwarding step
// (转办 "forwarded for handling", 转交 "passed on") rather than a body that
// handled the request.
var forwardingMarks = []string{"转办", "转交"}

// IsForwarding reports whether a label names a forwarding step rather than
// a handler: in a hotline's history a row "answered" by the office that
// only forwarded it onward (e.g. 市政府信息办(转办)) says nothing about
// where the request belongs, and a routing model that suggested it would
// send the request back to the hotline itself. Such rows are left out of
// training and evaluation by default.
func IsForwarding(label string) bool {
	for _, m := range forwardingMarks {
		if strings.Contains(label, m) {
			return true
		}
	}
	return false
}

package classify

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Feedback is an operator's verdict on a suggestion: the label confirmed
// (Label equal to Suggested) or corrected. Appended to a feedback log, it
// becomes a training example of the next model.
type Feedback struct {
	At         time.Time
	Text       string
	Suggested  string
	Confidence float64
	Label      string
	Operator   string
	// Auto is set when the suggestion was dispatched without an operator
	// and the label was later confirmed or corrected by the handling unit.
	Auto bool
}

// FeedbackHeader is the header of a feedback log; train on it with
// --text-column text --label-column label (--time-column time).
var FeedbackHeader = []string{"time", "text", "label", "suggested", "confidence", "corrected", "auto", "operator"}

// FeedbackWriter appends feedback to a CSV log.
type FeedbackWriter struct {
	w *csv.Writer
}

// NewFeedbackWriter writes to w; header says whether to write the header
// row first (a new, empty log).
func NewFeedbackWriter(w io.Writer, header bool) (*FeedbackWriter, error) {
	fw := &FeedbackWriter{w: csv.NewWriter(w)}
	if header {
		if err := fw.w.Write(FeedbackHeader); err != nil {
			return nil, fmt.Errorf("writing feedback header: %w", err)
		}
		fw.w.Flush()
	}
	return fw, fw.w.Error()
}

// Write records one verdict and flushes it.
func (fw *FeedbackWriter) Write(f Feedback) error {
	rec := []string{
		f.At.UTC().Format(time.RFC3339),
		f.Text,
		f.Label,
		f.Suggested,
		strconv.FormatFloat(f.Confidence, 'f', 4, 64),
		strconv.FormatBool(f.Label != f.Suggested),
		strconv.FormatBool(f.Auto),
		f.Operator,
	}
	if err := fw.w.Write(rec); err != nil {
		return fmt.Errorf("writing feedback: %w", err)
	}
	fw.w.Flush()
	if err := fw.w.Error(); err != nil {
		return fmt.Errorf("writing feedback: %w", err)
	}
	return nil
}

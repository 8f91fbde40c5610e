package classify

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// NeverAuto is the threshold of a class whose suggestions always go to an
// operator: no confidence reaches it.
const NeverAuto = 2.0

// ChooseThresholds picks, for each label, the lowest confidence at which
// held-out suggestions of that label were right often enough: among the
// predictions whose top suggestion is the label and whose confidence is at
// least the threshold, correct/(n+1) ≥ target. The +1 counts one unseen
// mistake, so a class needs about 1/(1−target) consecutive right answers
// before it is dispatched automatically at all (19 at 0.95). Labels without
// such a run get NeverAuto. The result is aligned with labels.
func ChooseThresholds(preds []Prediction, labels []string, target float64) []float64 {
	type hit struct {
		conf float64
		ok   bool
	}
	byLabel := make(map[string][]hit)
	for _, p := range preds {
		if len(p.Top) == 0 {
			continue
		}
		s := p.Top[0]
		byLabel[s.Label] = append(byLabel[s.Label], hit{s.Confidence, s.Label == p.Truth})
	}
	out := make([]float64, len(labels))
	for c, l := range labels {
		hs := byLabel[l]
		slices.SortFunc(hs, func(a, b hit) int { return cmp.Compare(b.conf, a.conf) })
		out[c] = NeverAuto
		right := 0
		for i, h := range hs {
			if h.ok {
				right++
			}
			// Only cut between distinct confidences.
			if i+1 < len(hs) && hs[i+1].conf == h.conf {
				continue
			}
			if float64(right)/float64(i+2) >= target {
				out[c] = h.conf
			}
		}
	}
	return out
}

// DispatchRow is how automatic dispatch fared for one label on held-out
// predictions.
type DispatchRow struct {
	Label     string  `json:"label"`
	Threshold float64 `json:"threshold"`
	Predicted int     `json:"predicted"` // predictions whose top suggestion is the label
	Auto      int     `json:"auto"`      // of which dispatched automatically
	AutoRight int     `json:"auto_right"`
}

// DispatchReport is automatic dispatch on held-out predictions at given
// thresholds: the share of all messages dispatched without an operator and
// the accuracy of those dispatches.
type DispatchReport struct {
	N         int           `json:"n"`
	Auto      int           `json:"auto"`
	AutoRight int           `json:"auto_right"`
	Share     float64       `json:"share"`
	Accuracy  float64       `json:"accuracy"`
	Rows      []DispatchRow `json:"rows"`
}

// EvaluateDispatch applies per-label thresholds (aligned with labels) to
// predictions.
func EvaluateDispatch(preds []Prediction, labels []string, thresholds []float64) DispatchReport {
	pos := make(map[string]int, len(labels))
	r := DispatchReport{N: len(preds), Rows: make([]DispatchRow, len(labels))}
	for i, l := range labels {
		pos[l] = i
		r.Rows[i] = DispatchRow{Label: l, Threshold: thresholds[i]}
	}
	for _, p := range preds {
		if len(p.Top) == 0 {
			continue
		}
		s := p.Top[0]
		i, ok := pos[s.Label]
		if !ok {
			continue
		}
		row := &r.Rows[i]
		row.Predicted++
		if s.Confidence >= row.Threshold {
			row.Auto++
			r.Auto++
			if s.Label == p.Truth {
				row.AutoRight++
				r.AutoRight++
			}
		}
	}
	if r.N > 0 {
		r.Share = float64(r.Auto) / float64(r.N)
	}
	if r.Auto > 0 {
		r.Accuracy = float64(r.AutoRight) / float64(r.Auto)
	}
	return r
}

// WriteText prints the dispatch table: per label the threshold, how many
// suggestions went out automatically and how many of those were right.
func (r DispatchReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "auto-dispatch share: %.4f (%d of %d)\n", r.Share, r.Auto, r.N)
	fmt.Fprintf(&b, "auto-dispatch precision: %.4f (%d of %d right)\n", r.Accuracy, r.AutoRight, r.Auto)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "threshold\tsuggested\tauto\tauto right\tauto precision\t  label")
	for _, row := range r.Rows {
		th := "never"
		if row.Threshold <= 1 {
			th = fmt.Sprintf("%.4f", row.Threshold)
		}
		acc := "-"
		if row.Auto > 0 {
			acc = fmt.Sprintf("%.4f", float64(row.AutoRight)/float64(row.Auto))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t  %s\n", th, row.Predicted, row.Auto, row.AutoRight, acc, row.Label)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// finite maps NeverAuto and non-numbers to NeverAuto.
func finite(t float64) float64 {
	if math.IsNaN(t) || t > 1 {
		return NeverAuto
	}
	return t
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboard12345/switchboard/classify"
)

const classifyUsage = `Usage: switchboard classify <train|eval|predict|feedback> [flags]

  train    learn text → label from a CSV of past tickets and save a model
           --data FILE --text-column COLS --label-column COL --out MODEL
  eval     evaluate a model on a labelled CSV, or (without --model)
           cross-validate (--cv K) or split by date (--time-column, --split-at)
           --model MODEL --data FILE --text-column COLS --label-column COL
  predict  print a model's top suggestions for a text
           --model MODEL --text TEXT [--k 3]
  feedback export the operators' confirmations and corrections of intake's
           suggestions from the store, as the next training's CSV
           --out FILE [--field category|unit] [--config FILE] [--data DIR]

COLS is a comma-separated list of columns joined (by a newline) into one text.
The CSV files are UTF-8 with a header row. Run "switchboard classify <action> -h"
for every flag.
`

func classifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, classifyUsage)
		return usageError{"classify: an action is needed: train, eval or predict"}
	}
	switch args[0] {
	case "train":
		return classifyTrain(args[1:], stdout, stderr)
	case "eval":
		return classifyEval(args[1:], stdout, stderr)
	case "predict":
		return classifyPredict(args[1:], stdout, stderr)
	case "feedback":
		return classifyFeedback(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, classifyUsage)
		return nil
	}
	fmt.Fprint(stderr, classifyUsage)
	return usageError{fmt.Sprintf("classify: unknown action %q", args[0])}
}

// dataFlags select the examples of a CSV file.
type dataFlags struct {
	data, textCols, labelCol, timeCol, exclude, splitAt string
	newest                                              float64
	keepForwarding                                      bool
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", "", "labelled CSV `file` (UTF-8, header row)")
	fs.StringVar(&d.textCols, "text-column", "", "text `columns`, comma-separated, joined into one text")
	fs.StringVar(&d.labelCol, "label-column", "", "label `column`")
	fs.StringVar(&d.timeCol, "time-column", "", "date `column` (YYYY-MM-DD…), for --split-at / --newest")
	fs.StringVar(&d.exclude, "exclude-label", "", "drop rows with these `labels` (comma-separated), e.g. a catch-all office that is not a handler")
	fs.StringVar(&d.splitAt, "split-at", "", "temporal split: train on rows dated before `DATE`, test on the rest (needs --time-column)")
	fs.Float64Var(&d.newest, "newest", 0, "temporal split: test on the newest `share` of dated rows (needs --time-column)")
	fs.BoolVar(&d.keepForwarding, "keep-forwarding", false, "keep rows whose label names a forwarding step (contains 转办 or 转交), which are dropped by default: the office that only forwarded a request is not its handler (a handler's label that merely notes 转办 is dropped too: rename it or keep them)")
}

func (d *dataFlags) read(stderr io.Writer) ([]classify.Example, error) {
	switch {
	case d.data == "":
		return nil, usageError{"--data is required"}
	case d.textCols == "":
		return nil, usageError{"--text-column is required"}
	case d.labelCol == "":
		return nil, usageError{"--label-column is required"}
	case (d.splitAt != "" || d.newest != 0) && d.timeCol == "":
		return nil, usageError{"--split-at and --newest need --time-column"}
	case d.newest < 0 || d.newest >= 1:
		return nil, usageError{"--newest is a share between 0 and 1"}
	}
	f, err := os.Open(d.data)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ex, err := classify.ReadCSV(f, classify.CSVSpec{
		TextColumns: splitCommaList(d.textCols),
		LabelColumn: d.labelCol,
		TimeColumn:  d.timeCol,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.data, err)
	}
	if d.exclude != "" {
		drop := splitCommaList(d.exclude)
		ex = slices.DeleteFunc(ex, func(e classify.Example) bool { return slices.Contains(drop, e.Label) })
	}
	if !d.keepForwarding {
		dropped := make(map[string]int)
		ex = slices.DeleteFunc(ex, func(e classify.Example) bool {
			if classify.IsForwarding(e.Label) {
				dropped[e.Label]++
				return true
			}
			return false
		})
		for _, l := range slices.Sorted(maps.Keys(dropped)) {
			fmt.Fprintf(stderr, "dropped %d rows labelled %q: a forwarding step, not a handler (--keep-forwarding keeps them)\n", dropped[l], l)
		}
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("%s: no labelled rows", d.data)
	}
	return ex, nil
}

// split returns the temporal split the flags ask for, or ok=false.
func (d *dataFlags) split(ex []classify.Example) (train, test []classify.Example, at time.Time, ok bool, err error) {
	switch {
	case d.splitAt != "":
		at, err = classify.ParseDate(d.splitAt)
		if err != nil {
			return nil, nil, at, false, usageError{"--split-at: " + err.Error()}
		}
	case d.newest > 0:
		at = classify.NewestCut(ex, d.newest)
	default:
		return nil, nil, at, false, nil
	}
	train, test = classify.SplitByTime(ex, at)
	if len(train) == 0 || len(test) == 0 {
		return nil, nil, at, false, fmt.Errorf("the split at %s leaves %d rows to train on and %d to test", at.Format(time.DateOnly), len(train), len(test))
	}
	return train, test, at, true, nil
}

// configFlags set the training configuration.
type configFlags struct {
	features, gazetteer                                string
	charMin, charMax, folds, minDF                     int
	maxFeatures                                        int
	c, classWeight, target, extraWt, nbAlpha, halfLife float64
	maxWeightRatio                                     float64
	nb                                                 bool
	seed                                               uint64
}

func (c *configFlags) register(fs *flag.FlagSet) {
	d := classify.DefaultConfig()
	fs.StringVar(&c.features, "features", "char", "text features: char (character n-grams), word (segmented words) or both")
	fs.IntVar(&c.charMin, "char-min", d.Features.CharMin, "shortest character n-gram")
	fs.IntVar(&c.charMax, "char-max", d.Features.CharMax, "longest character n-gram")
	fs.IntVar(&c.minDF, "min-df", d.Features.MinDF, "drop terms found in fewer training texts")
	fs.IntVar(&c.maxFeatures, "max-features", d.Features.MaxFeatures, "keep at most this many terms")
	fs.Float64Var(&c.c, "c", d.C, "SVM penalty C")
	fs.Float64Var(&c.classWeight, "class-weight", d.ClassWeight, "class weighting power: 0 none, 1 balanced")
	fs.Float64Var(&c.maxWeightRatio, "max-weight-ratio", d.MaxWeightRatio, "lower the class weighting when the largest class weight would exceed the smallest by more than this `factor` (0: no limit)")
	fs.BoolVar(&c.nb, "nb", d.NB, "scale features by naive-Bayes log-count ratios (NB-SVM)")
	fs.Float64Var(&c.nbAlpha, "nb-alpha", d.NBAlpha, "smoothing of the naive-Bayes ratios (0: 0.1)")
	fs.IntVar(&c.folds, "folds", d.Folds, "internal folds for calibration and dispatch thresholds")
	fs.Float64Var(&c.target, "target-precision", d.TargetPrecision, "accuracy automatic dispatch must reach per label")
	fs.StringVar(&c.gazetteer, "gazetteer", "", "gazetteer `file` (level<TAB>region<TAB>names): adds place-name features; for routing pair it with --class-weight 0.5 (classify.RoutingConfig)")
	fs.Float64Var(&c.extraWt, "extra-weight", 0, "weight of the place-name feature group (0: 1)")
	fs.Float64Var(&c.halfLife, "half-life", 0, "weight training rows by recency: halve the weight every `days` back (needs --time-column; 0: all alike)")
	fs.Uint64Var(&c.seed, "seed", d.Seed, "random seed")
}

func (c *configFlags) config() (classify.Config, classify.Segmenter, error) {
	cfg := classify.DefaultConfig()
	cfg.Features.CharMin, cfg.Features.CharMax = c.charMin, c.charMax
	cfg.Features.MinDF, cfg.Features.MaxFeatures = c.minDF, c.maxFeatures
	cfg.Features.ExtraWeight = c.extraWt
	cfg.C, cfg.ClassWeight, cfg.NB, cfg.NBAlpha = c.c, c.classWeight, c.nb, c.nbAlpha
	cfg.MaxWeightRatio = c.maxWeightRatio
	cfg.Folds, cfg.TargetPrecision, cfg.Seed = c.folds, c.target, c.seed
	cfg.HalfLife = classify.Days(c.halfLife)
	var seg classify.Segmenter
	switch c.features {
	case "char":
	case "word", "both":
		return cfg, nil, usageError{"--features " + c.features + ": word segmentation is not built in (see the classify package documentation)"}
	default:
		return cfg, nil, usageError{"--features: char, word or both"}
	}
	if c.gazetteer != "" {
		f, err := os.Open(c.gazetteer)
		if err != nil {
			return cfg, nil, err
		}
		defer f.Close()
		g, err := classify.ReadGazetteer(f)
		if err != nil {
			return cfg, nil, fmt.Errorf("%s: %w", c.gazetteer, err)
		}
		cfg.Gazetteer = g
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, usageError{err.Error()}
	}
	return cfg, seg, nil
}

func classifyTrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var d dataFlags
	var c configFlags
	d.register(fs)
	c.register(fs)
	out := fs.String("out", "", "write the model to `file`")
	cv := fs.Int("cv", 0, "also cross-validate with `K` folds and print the figures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"--out is required"}
	}
	ex, err := d.read(stderr)
	if err != nil {
		return err
	}
	cfg, seg, err := c.config()
	if err != nil {
		return err
	}
	opt := classify.TrainOptions{Now: time.Now(), Segmenter: seg}
	if *cv > 1 {
		res, err := crossValidate(ex, cfg, *cv, opt, stderr)
		if err != nil {
			return err
		}
		if err := printCV(stdout, res, *cv); err != nil {
			return err
		}
	}
	start := time.Now()
	opt.Progress = newProgress(stderr, "training").step
	m, err := classify.Train(ex, cfg, opt)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := m.SaveFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained on %d examples, %d labels in %s; model written to %s\n",
		m.Meta.Examples, len(m.Meta.Labels), elapsed.Round(time.Millisecond), *out)
	fmt.Fprintf(stdout, "internal %d-fold CV: acc %.4f, macro-averaged F1 %.4f, ECE %.4f, temperature %.4f\n",
		cfg.Folds, m.Meta.CV.Accuracy, m.Meta.CV.MacroF1, m.Meta.CV.ECE, m.Meta.Temperature)
	fmt.Fprintf(stdout, "auto-dispatch on internal folds: share %.4f, precision %.4f\n", m.Meta.Dispatch.Share, m.Meta.Dispatch.Accuracy)
	return nil
}

func crossValidate(ex []classify.Example, cfg classify.Config, k int, opt classify.TrainOptions, stderr io.Writer) (classify.CVResult, error) {
	return classify.CrossValidate(ex, cfg, k, opt, newProgress(stderr, fmt.Sprintf("%d-fold cross-validation", k)).step)
}

func printCV(w io.Writer, res classify.CVResult, k int) error {
	fmt.Fprintf(w, "%d-fold cross-validation (each fold predicted by a model trained without it):\n", k)
	if err := res.Report.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nautomatic dispatch at each fold model's thresholds:")
	return res.Dispatch.WriteText(w)
}

func classifyEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var d dataFlags
	var c configFlags
	d.register(fs)
	c.register(fs)
	modelPath := fs.String("model", "", "the model `file` to evaluate; without it, train on the data (--cv K or a temporal split)")
	cv := fs.Int("cv", 0, "cross-validate with `K` folds instead of evaluating a model")
	baseline := fs.String("baseline", "", "also print the accuracy of always answering `label`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ex, err := d.read(stderr)
	if err != nil {
		return err
	}
	train, test, at, isSplit, err := d.split(ex)
	if err != nil {
		return err
	}
	var m *classify.Model
	switch {
	case *modelPath != "" && *cv > 0:
		return usageError{"--model and --cv exclude each other"}
	case *modelPath != "":
		if m, err = classify.Load(*modelPath); err != nil {
			return err
		}
		if !isSplit {
			test = ex
		}
	case *cv > 1:
		if isSplit {
			return usageError{"--cv and a temporal split exclude each other"}
		}
		cfg, seg, err := c.config()
		if err != nil {
			return err
		}
		res, err := crossValidate(ex, cfg, *cv, classify.TrainOptions{Now: time.Now(), Segmenter: seg}, stderr)
		if err != nil {
			return err
		}
		printBaseline(stdout, res.Predictions, *baseline)
		return printCV(stdout, res, *cv)
	case isSplit:
		cfg, seg, err := c.config()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "temporal split at %s: training on %d older rows, testing on %d newer\n", at.Format(time.DateOnly), len(train), len(test))
		start := time.Now()
		if m, err = classify.Train(train, cfg, classify.TrainOptions{Now: time.Now(), Segmenter: seg, Progress: newProgress(stderr, "training").step}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trained in %s\n", time.Since(start).Round(time.Millisecond))
	default:
		return usageError{"eval needs --model, --cv K or a temporal split (--time-column with --split-at or --newest)"}
	}
	preds, perMsg := predictTimed(m, test)
	printBaseline(stdout, preds, *baseline)
	if err := m.Evaluate(preds).WriteText(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nlatency: %.1f µs/message (one goroutine, %d messages)\n", float64(perMsg.Nanoseconds())/1e3, len(test))
	fmt.Fprintf(stdout, "\nautomatic dispatch at the model's thresholds (target precision %.2f):\n", m.Meta.Config.TargetPrecision)
	return m.DispatchOn(preds).WriteText(stdout)
}

// predictTimed predicts on one goroutine and returns the mean time per
// message.
func predictTimed(m *classify.Model, test []classify.Example) ([]classify.Prediction, time.Duration) {
	preds := make([]classify.Prediction, len(test))
	start := time.Now()
	for i, e := range test {
		preds[i] = classify.Prediction{Truth: e.Label, Top: m.PredictExtra(e.Text, e.Extra, 3)}
	}
	return preds, time.Since(start) / time.Duration(max(len(test), 1))
}

func printBaseline(w io.Writer, preds []classify.Prediction, label string) {
	if label == "" {
		return
	}
	n := 0
	for _, p := range preds {
		if p.Truth == label {
			n++
		}
	}
	fmt.Fprintf(w, "baseline (always %s): %.4f\n", label, float64(n)/float64(max(len(preds), 1)))
}

func classifyPredict(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "the model `file`")
	text := fs.String("text", "", "the message text (- reads standard input)")
	k := fs.Int("k", 3, "how many suggestions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || *text == "" {
		return usageError{"predict needs --model and --text"}
	}
	m, err := classify.Load(*modelPath)
	if err != nil {
		return err
	}
	for i, s := range m.Predict(*text, *k) {
		auto := ""
		if i == 0 && m.Auto(s) {
			auto = "\tauto-dispatch"
		}
		fmt.Fprintf(stdout, "%d\t%.4f\t%s%s\n", i+1, s.Confidence, s.Label, auto)
	}
	return nil
}

// progress draws a bar on a terminal and prints a line per step elsewhere.
type progress struct {
	w     io.Writer
	what  string
	tty   bool
	start time.Time
}

func newProgress(w io.Writer, what string) *progress {
	p := &progress{w: w, what: what, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) step(done, total int) {
	el := time.Since(p.start).Round(100 * time.Millisecond)
	if !p.tty {
		fmt.Fprintf(p.w, "%s: step %d/%d (%s)\n", p.what, done, total, el)
		return
	}
	const width = 30
	n := width * done / max(total, 1)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s", p.what, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, el)
	if done >= total {
		fmt.Fprintln(p.w)
	}
}

// splitCommaList splits a comma-separated flag value, trimming spaces and
// dropping empty items.
func splitCommaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

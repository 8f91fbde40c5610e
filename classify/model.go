package classify

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Example is one labelled text of the history a model learns from.
type Example struct {
	Text  string
	Label string
	// Extra are tokens the caller derives from other fields (a channel,
	// a district code); they become features of their own group.
	Extra []string
	// Time is when the message came in; zero if unknown. Only temporal
	// splits use it.
	Time time.Time
}

// Suggestion is one candidate label with its calibrated confidence: the
// estimated probability that it is the right one.
type Suggestion struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
}

// Config is what a model is trained with. DefaultConfig is the measured
// default.
type Config struct {
	Features FeatureConfig `json:"features"`
	// C is the SVM's penalty on training mistakes (higher: fit harder).
	C float64 `json:"c"`
	// ClassWeight raises the per-class weight n/(k·n_c) to this power:
	// 0 treats all examples alike, 1 balances the classes.
	ClassWeight float64 `json:"class_weight"`
	// MaxWeightRatio, if set (at least 1), lowers ClassWeight for a
	// training set whose class weights would otherwise differ by more than
	// this factor (see classWeightPower); 0 leaves ClassWeight alone.
	MaxWeightRatio float64 `json:"max_weight_ratio,omitempty"`
	// NB scales features by their naive-Bayes log-count ratio per class
	// (NB-SVM) with smoothing NBAlpha.
	NB      bool    `json:"nb"`
	NBAlpha float64 `json:"nb_alpha"`
	// HalfLife, if positive, weights each training example by
	// 0.5^(age/HalfLife), age counted back from the newest dated example
	// (undated examples count as the oldest): routing practice drifts, and
	// the recent past says more about the next letter than the distant one.
	HalfLife Days `json:"half_life_days,omitempty"`
	// Folds is the number of internal cross-validation folds whose
	// held-out predictions fit the calibration and the dispatch thresholds
	// and give the training metrics (at least 2).
	Folds int `json:"folds"`
	// TargetPrecision is the accuracy automatic dispatch must reach per
	// class on held-out predictions (ChooseThresholds).
	TargetPrecision float64 `json:"target_precision"`
	// Seed makes training deterministic.
	Seed uint64 `json:"seed"`
	// Gazetteer, when set, adds place-name features (see Gazetteer); the
	// model keeps it, so Predict finds the places itself.
	Gazetteer *Gazetteer `json:"gazetteer,omitempty"`
}

// DefaultConfig returns the configuration the package documentation
// reports figures for.
func DefaultConfig() Config {
	return Config{
		Features:        DefaultFeatures(),
		C:               1,
		ClassWeight:     1,
		MaxWeightRatio:  4,
		NB:              true,
		NBAlpha:         0.1,
		Folds:           5,
		TargetPrecision: 0.95,
		Seed:            1,
	}
}

// Validate reports a configuration that cannot be trained.
func (c Config) Validate() error {
	if err := c.Features.Validate(); err != nil {
		return err
	}
	switch {
	case c.C <= 0:
		return errors.New("config: c must be positive")
	case c.ClassWeight < 0 || c.ClassWeight > 2:
		return errors.New("config: class_weight must be between 0 and 2")
	case c.MaxWeightRatio != 0 && !(c.MaxWeightRatio >= 1):
		return errors.New("config: max_weight_ratio must be 0 (no limit) or at least 1")
	case c.HalfLife < 0:
		return errors.New("config: half_life_days must not be negative")
	case c.Folds < 2:
		return errors.New("config: folds must be at least 2")
	case c.TargetPrecision <= 0 || c.TargetPrecision > 1:
		return errors.New("config: target_precision must be in (0, 1]")
	}
	return nil
}

// TrainOptions are the inputs of one training run that are not part of the
// model's configuration.
type TrainOptions struct {
	// Now is the model's creation time, recorded in the file.
	Now time.Time
	// Segmenter splits words; required when Features.Words is set.
	Segmenter Segmenter
	// Progress, if set, is called after each step with the steps done and
	// the total (the internal folds, then the final fit).
	Progress func(done, total int)
}

// Model is a trained text classifier. It is safe for concurrent use.
type Model struct {
	// Meta describes the model: labels, configuration, provenance and the
	// figures of its internal cross-validation.
	Meta Meta
	lin  *linear
	ext  extractor
}

// Meta is the descriptive part of a model file.
type Meta struct {
	FormatVersion int       `json:"format_version"`
	Created       time.Time `json:"created"`
	// DataDigest is the SHA-256 of the training examples (labels and
	// texts, in order), so a model can be traced to its data.
	DataDigest string   `json:"data_digest"`
	Examples   int      `json:"examples"`
	Labels     []string `json:"labels"`
	Config     Config   `json:"config"`
	// Temperature is the fitted softmax temperature of the decision values.
	Temperature float64 `json:"temperature"`
	// Thresholds are the automatic-dispatch thresholds, aligned with
	// Labels (NeverAuto: always ask an operator).
	Thresholds []float64 `json:"thresholds"`
	// CV is the evaluation of the internal folds' held-out predictions and
	// Dispatch the automatic dispatch on them at Thresholds.
	CV       Report         `json:"cv"`
	Dispatch DispatchReport `json:"dispatch"`
}

// Train fits a model on examples: internal stratified folds give held-out
// decision values, which fit the temperature and the dispatch thresholds;
// then the model is fitted on all examples.
func Train(examples []Example, cfg Config, opt TrainOptions) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Features.Words && opt.Segmenter == nil {
		return nil, errors.New("train: word features need a segmenter")
	}
	labels := sortedLabels(examples)
	if len(labels) < 2 {
		return nil, fmt.Errorf("train: need at least two labels, have %d", len(labels))
	}
	ext := extractor{cfg: cfg.Features, seg: opt.Segmenter, gaz: cfg.Gazetteer}
	pos := make(map[string]int, len(labels))
	for i, l := range labels {
		pos[l] = i
	}
	y := make([]int, len(examples))
	names := make([]string, len(examples))
	for i, e := range examples {
		y[i] = pos[e.Label]
		names[i] = e.Label
	}
	docs := make([][]termCount, len(examples))
	parallel(len(examples), 0, func(i int) { docs[i] = ext.terms(examples[i].Text, examples[i].Extra) })

	weight := recencyWeights(examples, cfg.HalfLife)
	total := cfg.Folds + 1
	progress := func(done int) {
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	k := len(labels)
	folds := StratifiedFolds(names, cfg.Folds, cfg.Seed)
	oof := make([][]float64, len(examples))
	for f := 0; f < cfg.Folds; f++ {
		var trDocs [][]termCount
		var trY []int
		var trW []float64
		for i, fi := range folds {
			if fi != f {
				trDocs = append(trDocs, docs[i])
				trY = append(trY, y[i])
				trW = append(trW, weight[i])
			}
		}
		lin := fitLinear(trDocs, trY, trW, k, cfg)
		parallel(len(examples), 0, func(i int) {
			if folds[i] == f {
				oof[i] = make([]float64, k)
				lin.scores(docs[i], cfg.Features, oof[i])
			}
		})
		progress(f + 1)
	}
	temp := fitTemperature(oof, y)
	preds := make([]Prediction, len(examples))
	for i, s := range oof {
		preds[i] = Prediction{Truth: labels[y[i]], Top: topK(s, temp, labels, 3)}
	}
	thresholds := ChooseThresholds(preds, labels, cfg.TargetPrecision)
	lin := fitLinear(docs, y, weight, k, cfg)
	progress(total)
	return &Model{
		Meta: Meta{
			FormatVersion: FormatVersion,
			Created:       opt.Now.UTC(),
			DataDigest:    digest(examples),
			Examples:      len(examples),
			Labels:        labels,
			Config:        cfg,
			Temperature:   temp,
			Thresholds:    thresholds,
			CV:            Evaluate(preds, labels),
			Dispatch:      EvaluateDispatch(preds, labels, thresholds),
		},
		lin: lin,
		ext: ext,
	}, nil
}

// digest is the SHA-256 over the examples' labels, texts and extras.
func digest(examples []Example) string {
	h := sha256.New()
	for _, e := range examples {
		fmt.Fprintf(h, "%d:%s\x00%d:%s\x00", len(e.Label), e.Label, len(e.Text), e.Text)
		for _, x := range e.Extra {
			fmt.Fprintf(h, "%d:%s\x00", len(x), x)
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// topK turns decision values into the k most probable labels.
func topK(scores []float64, temp float64, labels []string, k int) []Suggestion {
	p := make([]float64, len(scores))
	softmax(scores, temp, p)
	out := make([]Suggestion, len(p))
	for c := range p {
		out[c] = Suggestion{Label: labels[c], Confidence: p[c]}
	}
	slices.SortStableFunc(out, func(a, b Suggestion) int { return cmp.Compare(b.Confidence, a.Confidence) })
	return out[:min(k, len(out))]
}

// Predict returns the k most likely labels for a text, most likely first,
// with calibrated confidences.
func (m *Model) Predict(text string, k int) []Suggestion {
	return m.PredictExtra(text, nil, k)
}

// PredictExtra is Predict with the caller's extra tokens, for models
// trained on examples with Extra.
func (m *Model) PredictExtra(text string, extra []string, k int) []Suggestion {
	s := make([]float64, len(m.Meta.Labels))
	m.lin.scores(m.ext.terms(text, extra), m.Meta.Config.Features, s)
	return topK(s, m.Meta.Temperature, m.Meta.Labels, k)
}

// Labels returns the labels the model chooses among, sorted.
func (m *Model) Labels() []string { return slices.Clone(m.Meta.Labels) }

// AutoThreshold is the confidence at or above which a suggestion of label
// may be dispatched without an operator; NeverAuto for a label that must
// always be confirmed, or that the model does not know.
func (m *Model) AutoThreshold(label string) float64 {
	if i, ok := slices.BinarySearch(m.Meta.Labels, label); ok {
		return finite(m.Meta.Thresholds[i])
	}
	return NeverAuto
}

// Auto reports whether the top suggestion may be dispatched without an
// operator.
func (m *Model) Auto(top Suggestion) bool {
	return top.Confidence >= m.AutoThreshold(top.Label)
}

// RoutingConfig is the default configuration for routing to handling units
// with place-name features from a gazetteer: classes are weighted half-way
// to balanced, since the county governments take most letters and a
// routing error costs the same whatever the unit.
func RoutingConfig(g *Gazetteer) Config {
	cfg := DefaultConfig()
	cfg.Gazetteer = g
	cfg.ClassWeight = 0.5
	return cfg
}
